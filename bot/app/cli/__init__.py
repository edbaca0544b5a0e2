"""The `accueil` command.

    accueil run [--api-base URL]     the Telegram bot (terminal intake without a token)
    accueil shell [--lang xx]        the intake in this terminal
    accueil dialogs check            validate every dialog against every catalog
    accueil db upgrade               apply database migrations
    accueil keys init|add|certify|list|revoke|rewrap   recipient keys, certified by the association key
    accueil cases list               cases, without their content
    accueil cases reassign CASE --to STAFF_ID | close CASE   the operator's hold on a case
    accueil staff add|list|remove    caseworkers and interpreters (removal takes effect at once)
    accueil transcript show|export CASE --key FILE   read a transcript (caseworkers)
    accueil purge --case CASE | --older-than DAYS    destroy cases for good
    accueil block|unblock CASE       ignore (or not) whoever wrote in a case
    accueil parked list|replay [REF...]   updates no handler could apply, kept sealed
    accueil outbox list|replay [ID...]    messages the Bot API refused for good, set aside

Every error an operator can fix ends the command with one line on stderr and
exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from bot.app.cli.commands import dispatch
from bot.app.cli.parser import build_parser
from bot.app.logs import setup_logging
from bot.app.settings import load_settings
from bot.errors import AccueilError, DialogCheck


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(
            telegram_api_base=getattr(args, "api_base", None),
            webhook_url=getattr(args, "webhook_url", None),
        )
        setup_logging(settings.log_level)
        return asyncio.run(dispatch(args, settings))
    except DialogCheck as check:
        for problem in check.problems:
            print(f"accueil: {problem}", file=sys.stderr)
        print(f"accueil: {len(check.problems)} problem(s) in the dialogs or catalogs", file=sys.stderr)
        return 2
    except AccueilError as exc:
        print(f"accueil: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`accueil transcript show CASE | head`): end quietly, as other tools do.
        _quiet_stdout()
        return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush of a closed pipe raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
