"""The `accueil` command.

    accueil run [--api-base URL]     the Telegram bot (terminal intake without a token)
    accueil shell [--lang xx]        the intake in this terminal
    accueil dialogs check            validate every dialog against every catalog
    accueil db upgrade               apply database migrations

Every error an operator can fix ends the command with one line on stderr and
exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from bot.app import build_core, load_content
from bot.channels.base import Receiver
from bot.channels.terminal import TerminalSender, run_shell
from bot.conversation import utcnow
from bot.engine import DialogCheck
from bot.errors import AccueilError
from bot.logs import setup_logging
from bot.outbox import Outbox
from bot.settings import Settings, load_settings
from storage import db

log = logging.getLogger("accueil")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accueil", description="Accueil: a secure, multilingual intake assistant.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the Telegram bot (the terminal intake when no token is set)")
    run.add_argument("--api-base", help="Bot API server URL (ACCUEIL_TELEGRAM_API_BASE)")
    run.add_argument("--webhook-url", help="serve a webhook at this public URL instead of polling")

    shell = sub.add_parser("shell", help="run the intake in this terminal")
    shell.add_argument("--lang", help="start in this language (a catalog code such as fr or en)")

    dialogs = sub.add_parser("dialogs", help="work with dialog files")
    dialogs_sub = dialogs.add_subparsers(dest="action", required=True, metavar="ACTION")
    dialogs_sub.add_parser("check", help="validate every dialog against every catalog")

    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply pending migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(
            telegram_api_base=getattr(args, "api_base", None),
            webhook_url=getattr(args, "webhook_url", None),
        )
        setup_logging(settings.log_level)
        return asyncio.run(_dispatch(args, settings))
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


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "dialogs":
        content = load_content(settings)
        steps = sum(len(d.steps) for d in content.dialogs.values())
        languages = ", ".join(f"{c.language} ({c.review})" for c in content.catalogs)
        print(f"{len(content.dialogs)} dialog(s), {steps} steps, catalogs: {languages}: all good")
        return 0
    if args.command == "db":
        engine = db.make_engine(settings.database_url)
        try:
            await db.upgrade(engine)
        finally:
            await engine.dispose()
        print("database is up to date")
        return 0
    if args.command == "shell":
        return await _shell(settings, args.lang)
    if settings.telegram_token is None:
        print(
            "No ACCUEIL_TELEGRAM_TOKEN is set, so the intake opens here in the terminal.\n"
            "To run the Telegram bot: get a token from @BotFather, then\n"
            "  ACCUEIL_TELEGRAM_TOKEN=123456:ABC... make run\n",
            file=sys.stderr,
        )
        return await _shell(settings, None)
    return await _run_telegram(settings)


async def _shell(settings: Settings, language: str | None) -> int:
    if settings.log_level != "DEBUG":  # keep the terminal for the conversation
        logging.getLogger().setLevel(logging.WARNING)
    core = await build_core(settings)
    try:
        if language is not None and language not in core.content.catalogs:
            available = ", ".join(c.language for c in core.content.catalogs)
            print(f"accueil: no catalog for {language!r}; available: {available}", file=sys.stderr)
            return 2
        sender = TerminalSender(sys.stdout)
        outbox = Outbox(core.sessions, core.keys, sender, utcnow)
        await run_shell(Receiver(core.service, core.sessions, outbox), sender, core.content.catalogs, language)
        return 0
    finally:
        await core.close()


async def _run_telegram(settings: Settings) -> int:
    from bot.channels.telegram.runner import (
        Poller,
        check_token,
        make_bot,
        make_dispatcher,
        publish_commands,
        serve_webhook,
    )
    from bot.channels.telegram.sender import TelegramSender

    assert settings.telegram_token is not None
    core = await build_core(settings)
    bot = make_bot(settings.telegram_token.reveal(), settings.telegram_api_base)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        name = await check_token(bot)
        await publish_commands(bot, core.content.catalogs)
        outbox = Outbox(core.sessions, core.keys, TelegramSender(bot), utcnow)
        dispatcher = make_dispatcher(Receiver(core.service, core.sessions, outbox))
        retries = asyncio.create_task(outbox.run(stop))
        log.info("bot started", extra={"bot": name, "mode": "webhook" if settings.webhook_url else "polling"})
        if settings.webhook_url:
            assert settings.webhook_secret is not None
            host, port = settings.webhook_host_port
            await serve_webhook(
                bot,
                dispatcher,
                url=settings.webhook_url,
                secret=settings.webhook_secret.reveal(),
                host=host,
                port=port,
                stop=stop,
            )
        else:
            await Poller(bot, dispatcher).run(stop)
        stop.set()
        await retries
        await outbox.flush_due()
        log.info("bot stopped")
        return 0
    finally:
        await bot.session.close()
        await core.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
