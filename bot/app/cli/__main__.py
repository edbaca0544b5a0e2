"""`python -m bot.app.cli` is the `accueil` command."""

from bot.app.cli import main

raise SystemExit(main())
