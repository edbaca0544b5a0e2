"""The `accueil` command.

    accueil run [--api-base URL]     the Telegram bot (terminal intake without a token)
    accueil shell [--lang xx]        the intake in this terminal
    accueil dialogs check            validate every dialog against every catalog
    accueil db upgrade               apply database migrations
    accueil keys init|add|list|revoke|rewrap   recipient keys for transcripts
    accueil cases list               cases, without their content
    accueil transcript show|export CASE --key FILE   read a transcript (caseworkers)
    accueil purge --case CASE | --older-than DAYS    destroy cases for good
    accueil block|unblock CASE       ignore (or not) whoever wrote in a case
    accueil parked list|replay [REF...]   updates no handler could apply, kept sealed
    accueil outbox list|replay [ID...]    messages the Bot API refused for good, set aside

Every error an operator can fix ends the command with one line on stderr and
exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import admin, staff
from bot.app.compose import Core, build_core, load_content
from bot.app.logs import setup_logging
from bot.app.settings import Settings, load_settings
from bot.channels.base import Receiver
from bot.channels.terminal import TerminalSender, run_shell
from bot.conversation.guard import Safety
from bot.conversation.service import utcnow
from bot.engine import DialogCheck
from bot.errors import AccueilError, ConfigError
from bot.language import languages
from bot.outbox.delivery import Outbox
from bot.transcript import keyfiles
from bot.translation import packages
from bot.translation.argos import ArgosTranslator, discover
from storage import db, transcripts
from storage.crypto import load_server_key

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

    keys = sub.add_parser("keys", help="recipient keys: who can read transcripts")
    keys_sub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = keys_sub.add_parser("init", help="create a key pair and register its public half")
    init.add_argument("--out", required=True, type=Path, help="where to write the private key (kept off the server)")
    init.add_argument("--label", default="association", help="whose key this is, e.g. a caseworker's name")
    add = keys_sub.add_parser("add", help="register a public key file (FILE.pub) made elsewhere")
    add.add_argument("public_file", type=Path)
    add.add_argument("--label")
    keys_sub.add_parser("list", help="registered keys")
    revoke = keys_sub.add_parser("revoke", help="revoke a key: it reads no transcript any more")
    revoke.add_argument("key_id")
    rewrap = keys_sub.add_parser("rewrap", help="give keys added later access to past transcripts")
    rewrap.add_argument("--key", required=True, type=Path, help="a current private key file")

    cases = sub.add_parser("cases", help="cases")
    cases_sub = cases.add_subparsers(dest="action", required=True, metavar="ACTION")
    cases_sub.add_parser("list", help="every case: id, started, language, status, urgency (no content)")

    transcript = sub.add_parser("transcript", help="read a transcript with a private key")
    transcript_sub = transcript.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = transcript_sub.add_parser("show", help="print a transcript")
    export = transcript_sub.add_parser("export", help="export a transcript")
    for command in (show, export):
        command.add_argument("case")
        command.add_argument("--key", required=True, type=Path, help="your private key file")
    export.add_argument("--format", choices=("json", "md"), default="md")

    sub.add_parser("languages", help="what the bot can do in each language: catalog, translation, interpreters")
    models = sub.add_parser("models", help="offline translation models (Argos packages)")
    models_sub = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = models_sub.add_parser("install", help="install .argosmodel files")
    install.add_argument("files", nargs="+", type=Path)
    models_sub.add_parser("list", help="installed models: pairs, sizes, versions")
    remove = models_sub.add_parser("remove", help="remove the model of a pair, e.g. ar-en")
    remove.add_argument("pair")
    download = models_sub.add_parser("download", help="fetch models to and from English from the Argos index")
    download.add_argument("codes", nargs="+", metavar="LANG")

    staff = sub.add_parser("staff", help="caseworkers and interpreters: who may take cases")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    staff_add = staff_sub.add_parser("add", help="register (or update) a caseworker or an interpreter")
    staff_add.add_argument("--telegram-id", type=int, required=True, help="their numeric Telegram user id")
    staff_add.add_argument("--name", required=True, help="the name colleagues know them by")
    staff_add.add_argument("--role", required=True, choices=("caseworker", "interpreter"))
    staff_add.add_argument("--languages", help="languages they work in, e.g. ar,ti")
    staff_sub.add_parser("list", help="registered staff")
    staff_remove = staff_sub.add_parser("remove", help="remove a staff member (by the id `staff list` shows)")
    staff_remove.add_argument("staff_id", type=int)

    block = sub.add_parser("block", help="ignore whoever wrote in a case: their messages are not stored")
    block.add_argument("case")
    unblock = sub.add_parser("unblock", help="answer again whoever wrote in a case")
    unblock.add_argument("case")
    parked = sub.add_parser("parked", help="updates no handler could apply, kept sealed for replay")
    parked_sub = parked.add_subparsers(dest="action", required=True, metavar="ACTION")
    parked_sub.add_parser("list", help="parked updates: when, which case, what went wrong (no content)")
    replay = parked_sub.add_parser("replay", help="apply parked updates again (all, or those named)")
    replay.add_argument("refs", nargs="*", metavar="REF")
    outbox = sub.add_parser("outbox", help="messages the Bot API refused for good, set aside for replay")
    outbox_sub = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    outbox_sub.add_parser("list", help="messages set aside: case, kind, to whom, why (no content)")
    resend = outbox_sub.add_parser("replay", help="put messages set aside back in their queues (all, or those named)")
    resend.add_argument("ids", nargs="*", type=int, metavar="ID")

    purge = sub.add_parser("purge", help="destroy cases for good (their keys, then their entries)")
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument("--case")
    which.add_argument("--older-than", type=int, metavar="DAYS")
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
        catalog_list = ", ".join(f"{c.language} ({c.review})" for c in content.catalogs)
        print(f"{len(content.dialogs)} dialog(s), {steps} steps, catalogs: {catalog_list}: all good")
        return 0
    if args.command == "db":
        engine = db.make_engine(settings.database_url)
        try:
            await db.upgrade(engine)
        finally:
            await engine.dispose()
        print("database is up to date")
        return 0
    if args.command == "staff":
        return await _staff(args, settings)
    if args.command in ("block", "unblock", "parked", "outbox"):
        return await _safety(args, settings)
    if args.command in ("keys", "cases", "transcript", "purge"):
        return await _admin(args, settings)
    if args.command == "models":
        print(_models(args, settings))
        return 0
    if args.command == "languages":
        content = load_content(settings)
        translator = ArgosTranslator(settings.models_dir)
        try:
            model_languages = {code for pair in translator.pairs() for code in pair}
            spoken = await staff.interpreters_by_language(settings.database_url)
            rows = languages.matrix(
                content.catalogs, translator.route, settings.staff_language, model_languages, spoken
            )
        finally:
            translator.close()
        print(languages.render(rows, settings.staff_language))
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


async def _staff(args: argparse.Namespace, settings: Settings) -> int:
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    secret = settings.server_key.reveal() if settings.server_key else None
    keys = load_server_key(settings.data_dir, secret, create=True)
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        if args.action == "add":
            text = await staff.staff_add(
                sessions, keys, args.telegram_id, args.name, args.role, args.languages, utcnow()
            )
        elif args.action == "list":
            text = await staff.staff_list(sessions)
        else:
            text = await staff.staff_remove(sessions, args.staff_id, utcnow())
        print(text)
        return 0
    finally:
        await engine.dispose()


async def _safety(args: argparse.Namespace, settings: Settings) -> int:
    """Blocks and parked updates (replaying needs the whole service, so it builds it)."""
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    if args.command == "parked" and args.action == "replay":
        core = await build_core(settings)
        try:
            print(await admin.parked_replay(core.sessions, Safety(core.service), args.refs))
            return 0
        finally:
            await core.close()
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        if args.command == "block":
            text = await admin.block_case(sessions, args.case, utcnow())
        elif args.command == "unblock":
            text = await admin.unblock_case(sessions, args.case)
        elif args.command == "outbox":
            replay = args.action == "replay"
            text = await (admin.outbox_replay(sessions, args.ids, utcnow()) if replay else admin.outbox_list(sessions))
        else:
            text = await admin.parked_list(sessions)
        print(text)
        return 0
    finally:
        await engine.dispose()


async def _admin(args: argparse.Namespace, settings: Settings) -> int:
    if settings.log_level != "DEBUG":  # the output is the answer; keep logs for problems
        logging.getLogger().setLevel(logging.WARNING)
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        now = utcnow()
        if args.command == "keys":
            if args.action == "init":
                text = await admin.keys_init(sessions, args.out, args.label, settings.data_dir, now)
            elif args.action == "add":
                text = await admin.keys_add(sessions, args.public_file, args.label, now)
            elif args.action == "list":
                text = await admin.keys_list(sessions)
            elif args.action == "revoke":
                text = await admin.keys_revoke(sessions, args.key_id, now)
            else:
                text = await admin.keys_rewrap(sessions, args.key)
        elif args.command == "cases":
            text = await admin.cases_list(sessions)
        elif args.command == "transcript":
            entries = await admin.transcript_entries(sessions, args.case, args.key)
            case = args.case.upper()
            if args.action == "show":
                text = admin.render_text(case, entries)
            elif args.format == "json":
                text = admin.render_json(case, entries)
            else:
                text = admin.render_markdown(case, entries)
        elif args.case:
            text = await admin.purge_case(sessions, args.case)
        else:
            text = f"{await admin.purge_older_than(sessions, args.older_than, utcnow)} case(s) destroyed"
        print(text.rstrip("\n"))
        return 0
    finally:
        await engine.dispose()


def _models(args: argparse.Namespace, settings: Settings) -> str:
    directory = settings.models_dir
    if args.action == "install":
        lines = []
        for file in args.files:

            def progress(done: int, total: int, name: str = file.name) -> None:
                print(f"\r{name}: {100 * done // max(total, 1):3d}%", end="", file=sys.stderr, flush=True)

            package = packages.install(file, directory, progress)
            print(file=sys.stderr)
            lines.append(f"installed {package.from_code}-{package.to_code} {package.version} in {package.path}")
        return "\n".join(lines)
    if args.action == "remove":
        return f"removed {packages.remove(args.pair, directory)}"
    if args.action == "download":
        found = packages.download(args.codes, directory, settings.data_dir)
        return "\n".join(f"installed {path.name}" for path in found)
    installed, broken = discover(directory)
    if not installed and not broken:
        return f"no model installed in {directory} (ACCUEIL_MODELS_DIR); `accueil models install FILE.argosmodel`"
    lines = [f"{'pair':<8} {'version':<8} {'size':>9}  folder"]
    for package in installed:
        size = f"{package.size() / 1e6:.1f} MB"
        lines.append(f"{package.from_code + '-' + package.to_code:<8} {package.version:<8} {size:>9}  {package.path}")
    lines.extend(f"BROKEN   {item.path}: {item.reason}; remove it and install it again" for item in broken)
    return "\n".join(lines)


async def _ready_to_serve(core: Core) -> None:
    """The bot holds public keys only, and needs at least one to write transcripts to."""
    found = keyfiles.private_keys_under(core.settings.data_dir)
    if found:
        raise ConfigError(
            f"a recipient private key is in the data directory ({found[0]}): move it to a caseworker's "
            "machine (or an offline place); the bot must only hold public keys"
        )
    async with core.sessions() as session:
        if not await transcripts.active_recipients(session):
            raise ConfigError(
                "no recipient key is registered, so no one could read transcripts: "
                "run `accueil keys init --out FILE` (keep FILE off this server)"
            )


async def _retention(core: Core, stop: asyncio.Event, every: float = 86400.0) -> None:
    """Destroy cases older than ACCUEIL_RETENTION_DAYS, once a day."""
    while not stop.is_set():
        try:
            purged = await admin.purge_older_than(core.sessions, core.settings.retention_days, utcnow)
            if purged:
                log.info("retention: cases destroyed", extra={"count": purged})
        except Exception:  # the bot must outlive one failed round
            log.exception("retention round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def _shell(settings: Settings, language: str | None) -> int:
    if settings.log_level != "DEBUG":  # keep the terminal for the conversation
        logging.getLogger().setLevel(logging.WARNING)
    catalogs = load_content(settings).catalogs
    if language is not None and language not in catalogs:
        available = ", ".join(c.language for c in catalogs)
        raise ConfigError(f"no catalog for {language!r}; available: {available}")
    core = await build_core(settings)
    try:
        await _ready_to_serve(core)
        sender = TerminalSender(sys.stdout)
        outbox = Outbox(core.sessions, core.keys, sender, utcnow)
        await run_shell(Receiver(core.service, core.sessions, outbox), sender, core.content.catalogs, language)
        return 0
    finally:
        await core.close()


async def _run_telegram(settings: Settings) -> int:
    from bot.channels.telegram.pacing import Pace, PacedSender
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
        await _ready_to_serve(core)
        name = await check_token(bot)
        await publish_commands(bot, core.content.catalogs)
        outbox = core.outbox(PacedSender(TelegramSender(bot), Pace(settings.limits)))
        receiver = Receiver.with_limits(core.service, core.sessions, outbox, settings.limits)
        dispatcher = make_dispatcher(receiver, settings.staff_chat_id)
        retries = asyncio.create_task(outbox.run(stop))
        retention = asyncio.create_task(_retention(core, stop))
        housekeeping = asyncio.create_task(receiver.run(stop))
        announcements = asyncio.create_task(core.announce(outbox, stop))
        if settings.staff_chat_id is None:
            log.warning("ACCUEIL_STAFF_CHAT_ID is not set: no one will be told about new cases")
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
        log.info("stopping: delivering what is in flight")
        await receiver.drain()
        await asyncio.gather(housekeeping, retries, retention, announcements)
        if outbox.halted is not None:  # the token was refused: one line, exit code 2, everything kept
            raise outbox.halted
        with contextlib.suppress(TimeoutError):  # what is left stays queued for the next start
            await asyncio.wait_for(outbox.flush_due(), timeout=20)
        log.info("bot stopped")
        return 0
    finally:
        await bot.session.close()
        await core.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
