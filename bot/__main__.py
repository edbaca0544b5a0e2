"""`python -m bot` is the `accueil` command."""

from bot.app.cli import main

raise SystemExit(main())
