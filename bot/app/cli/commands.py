"""The one-shot operator commands: dialogs, database, keys, cases, transcripts, staff, models, safety."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import admin, staff
from bot.app import keys as key_commands
from bot.app.cli.run import run, shell
from bot.app.compose import Core, build_core, load_content
from bot.app.settings import Settings
from bot.clock import utcnow
from bot.errors import DeliveryError
from bot.language import languages
from bot.transcript import certificates
from bot.translation import packages
from bot.translation.argos import ArgosTranslator, discover
from storage import db, keystore
from storage.crypto import KEY_FILE, ServerKey, load_server_key

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command: Command = _COMMANDS.get(args.command, _run)
    return await command(args, settings)


async def _dialogs(args: argparse.Namespace, settings: Settings) -> int:
    content = load_content(settings)
    steps = sum(len(d.steps) for d in content.dialogs.values())
    catalog_list = ", ".join(f"{c.language} ({c.review})" for c in content.catalogs)
    print(f"{len(content.dialogs)} dialog(s), {steps} steps, catalogs: {catalog_list}: all good")
    return 0


async def _db(args: argparse.Namespace, settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date")
    return 0


async def _models_command(args: argparse.Namespace, settings: Settings) -> int:
    print(_models(args, settings))
    return 0


async def _languages(args: argparse.Namespace, settings: Settings) -> int:
    content = load_content(settings)
    translator = ArgosTranslator(settings.models_dir)
    try:
        model_languages = {code for pair in translator.pairs() for code in pair}
        spoken = await staff.interpreters_by_language(settings.database_url)
        rows = languages.matrix(content.catalogs, translator.route, settings.staff_language, model_languages, spoken)
    finally:
        translator.close()
    print(languages.render(rows, settings.staff_language))
    return 0


async def _shell(args: argparse.Namespace, settings: Settings) -> int:
    return await shell(settings, args.lang)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_token is None:
        print(
            "No ACCUEIL_TELEGRAM_TOKEN is set: the web side only (the console, and the web chat unless "
            "ACCUEIL_WEB_CHAT=off).\n"
            "To run the Telegram bot too: get a token from @BotFather, then\n"
            "  ACCUEIL_TELEGRAM_TOKEN=123456:ABC... make run\n"
            "To try the intake in this terminal: .venv/bin/accueil shell\n",
            file=sys.stderr,
        )
    return await run(settings, allow_development_key=args.allow_development_key)


async def _staff(args: argparse.Namespace, settings: Settings) -> int:
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    secret = settings.server_key.reveal() if settings.server_key else None
    keys = load_server_key(settings.data_dir, secret, create=True)
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        sessions = _sessions(engine, settings)
        if args.action == "remove":  # its cases go back to the queue: that needs the handoff
            return await _with_core(
                settings, lambda core: staff.staff_remove(core.sessions, core.handoff, args.staff_id, utcnow())
            )
        if args.action == "invite":
            return await _invite(sessions, keys, args.staff_id, settings)
        if args.action == "add":
            text = await staff.staff_add(
                sessions, keys, args.telegram_id, args.name, args.role, args.languages, utcnow()
            )
        else:
            text = await staff.staff_list(sessions)
        print(text)
        return 0
    finally:
        await engine.dispose()


async def _invite(sessions: Sessions, keys: ServerKey, staff_id: int, settings: Settings) -> int:
    """Print the link; send it to the person's private chat with the bot too, when that can be done."""
    name, link, chat = await staff.staff_invite(sessions, keys, staff_id, settings.web.public_url, utcnow())
    print(f"Console enrolment link for {name} (valid 24 hours, once):\n{link}")
    token = settings.telegram_token.reveal() if settings.telegram_token else None
    if token is None:
        print("Not sent on Telegram: no ACCUEIL_TELEGRAM_TOKEN is set. Give them the link yourself.")
    elif chat is None:
        print("Not sent on Telegram: the bot cannot write to them. Give them the link yourself.")
    else:
        from bot.channels.telegram.direct import send_now  # aiogram: only when a message is sent

        try:
            await send_now(token, settings.telegram_api_base, chat, staff.invite_message(name, link))
        except DeliveryError as exc:
            print(f"Not sent on Telegram: {exc}. Give them the link yourself.")
        else:
            print(f"Also sent to {name}'s private chat with the bot.")
    return 0


async def _with_core(settings: Settings, work: Callable[[Core], Awaitable[str]]) -> int:
    """A command that needs the whole service (the handoff, to tell people); prints what `work` returns."""
    core = await build_core(settings)
    try:
        print(await work(core))
        return 0
    finally:
        await core.close()


async def _cases(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        return await _admin(args, settings)
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    if args.action == "reassign":
        return await _with_core(
            settings, lambda core: admin.cases_reassign(core.sessions, core.handoff, args.case, args.to, utcnow())
        )
    return await _with_core(settings, lambda core: admin.cases_close(core.sessions, core.handoff, args.case, utcnow()))


async def _safety(args: argparse.Namespace, settings: Settings) -> int:
    """Blocks and parked updates (replaying needs the whole service, so it builds it)."""
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    if args.command == "parked" and args.action == "replay":
        core = await build_core(settings)
        try:
            print(await admin.parked_replay(core.sessions, core.service, args.refs))
            return 0
        finally:
            await core.close()
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        sessions = _sessions(engine, settings)
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
        sessions = _sessions(engine, settings)
        text = await _ADMIN[args.command](args, sessions, settings)
        print(text.rstrip("\n"))
        return 0
    finally:
        await engine.dispose()


Sessions = async_sessionmaker[AsyncSession]


async def _keys(args: argparse.Namespace, sessions: Sessions, settings: Settings) -> str:
    now = utcnow()
    if args.action == "init" and args.association:
        return key_commands.association_init(args.out, args.label, settings.data_dir)
    if args.action == "init":
        return await key_commands.keys_init(
            sessions, args.out, args.label, settings.data_dir, now, args.association_key
        )
    if args.action == "add":
        return await key_commands.keys_add(sessions, args.public_file, args.label, now, args.association_key)
    if args.action == "certify":
        return await key_commands.keys_certify(sessions, args.public_file, args.association_key, now)
    if args.action == "list":
        return await key_commands.keys_list(sessions)
    if args.action == "revoke":
        return await key_commands.keys_revoke(sessions, args.key_id, now)
    return await key_commands.keys_rewrap(sessions, args.key)


async def _cases_list(args: argparse.Namespace, sessions: Sessions, settings: Settings) -> str:
    return await admin.cases_list(sessions)


async def _transcript(args: argparse.Namespace, settings: Settings) -> int:
    """Print the transcript; then one line per problem with where it ends (cut, rolled back) and exit 2."""
    if settings.log_level != "DEBUG":
        logging.getLogger().setLevel(logging.WARNING)
    secret = settings.server_key.reveal() if settings.server_key else None
    present = secret is not None or (settings.data_dir / KEY_FILE).exists()
    server = load_server_key(settings.data_dir, secret, create=False) if present else None
    engine = db.make_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        entries, problems = await admin.transcript_checked(_sessions(engine, settings), args.case, args.key, server)
    finally:
        await engine.dispose()
    case = args.case.upper()
    if args.action == "show":
        print(admin.render_text(case, entries))
    else:
        print((admin.render_json if args.format == "json" else admin.render_markdown)(case, entries).rstrip("\n"))
    if server is None:
        print(f"accueil: warning: no server key in {settings.data_dir}: the end was not checked", file=sys.stderr)
    for line in problems:
        print(f"accueil: {line}", file=sys.stderr)
    return 2 if problems else 0


async def _purge(args: argparse.Namespace, sessions: Sessions, settings: Settings) -> str:
    if args.case:
        return await admin.purge_case(sessions, args.case)
    return f"{await admin.purge_older_than(sessions, args.older_than, utcnow)} case(s) destroyed"


_ADMIN: dict[str, Callable[[argparse.Namespace, Sessions, Settings], Awaitable[str]]] = {
    "keys": _keys,
    "cases": _cases_list,
    "purge": _purge,
}


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


_COMMANDS: dict[str, Command] = {
    "dialogs": _dialogs,
    "db": _db,
    "staff": _staff,
    "block": _safety,
    "unblock": _safety,
    "parked": _safety,
    "outbox": _safety,
    "keys": _admin,
    "cases": _cases,
    "transcript": _transcript,
    "purge": _admin,
    "models": _models_command,
    "languages": _languages,
    "shell": _shell,
    "run": _run,
}


def _sessions(engine: AsyncEngine, settings: Settings) -> async_sessionmaker[AsyncSession]:
    """Sessions on the operator's database, with the key store of the data directory beside it."""
    sessions = db.session_factory(engine)
    keystore.attach(sessions, settings.data_dir)
    certificates.pin(sessions, settings.association_key)
    return sessions
