"""`accueil run` and `accueil shell`: the long-running bot, and the intake in this terminal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bot.app import admin, checks
from bot.app.compose import Core, build_core, load_content
from bot.app.settings import Settings
from bot.channels.terminal import TerminalSender, run_shell
from bot.clock import utcnow
from bot.conversation.receiver import Receiver
from bot.errors import ConfigError
from bot.outbox.delivery import Outbox, StaffUnreachable
from bot.transcript import heads
from storage import transcripts

if TYPE_CHECKING:  # aiogram takes seconds to import: only `accueil run` pays for it
    from bot.channels.telegram.channel import TelegramChannel

log = logging.getLogger("accueil")


async def ready_to_serve(core: Core, *, allow_development_key: bool = True) -> None:
    """The bot holds public keys only, needs at least one certified key to write transcripts to, and
    (a Telegram bot, unless told) refuses the development key. Heads from before heads carried a MAC
    get one, once."""
    found = checks.private_keys_in(core.settings)
    if found:
        raise ConfigError(
            f"a recipient private key is in the data directory ({found[0]}): move it to a caseworker's "
            "machine (or an offline place); the bot must only hold public keys"
        )
    async with core.sessions() as session:
        active = await transcripts.active_recipients(session)
        if not active:
            raise ConfigError(
                "no recipient key is registered, so no one could read transcripts: "
                "run `accueil keys init --out FILE` (keep FILE off this server)"
            )
        if not allow_development_key:
            checks.refuse_development_key(active)
        checks.report_certificates(active, core.settings)
        sealed = await heads.seal_old_heads(session, core.keys, core.settings.data_dir)
    if sealed:
        log.info("%d transcript head(s) written before heads had a MAC now carry one", sealed)


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


async def intake_expiry(core: Core, stop: asyncio.Event, every: float = 600.0) -> None:
    """Destroy the working state of intakes abandoned for ACCUEIL_INTAKE_EXPIRY_HOURS, every `every` seconds."""
    while not stop.is_set():
        try:
            hours = core.settings.intake_expiry_hours
            expired = await admin.expire_intakes(core.sessions, core.keys, hours, core.clock())
            if expired:
                log.info("abandoned intakes: working state destroyed", extra={"count": expired})
        except Exception:  # the bot must outlive one failed round
            log.exception("abandoned-intake round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def shell(settings: Settings, language: str | None) -> int:
    if settings.log_level != "DEBUG":  # keep the terminal for the conversation
        logging.getLogger().setLevel(logging.WARNING)
    catalogs = load_content(settings).catalogs
    if language is not None and language not in catalogs:
        available = ", ".join(c.language for c in catalogs)
        raise ConfigError(f"no catalog for {language!r}; available: {available}")
    core = await build_core(settings)
    try:
        await ready_to_serve(core)
        sender = TerminalSender(sys.stdout)
        outbox = Outbox(core.sessions, core.keys, sender, utcnow)
        await run_shell(Receiver(core.service, core.sessions, outbox), sender, core.content.catalogs, language)
        return 0
    finally:
        await core.close()


def _telegram(core: Core) -> TelegramChannel | None:
    from bot.channels.telegram.channel import Parts, TelegramChannel, TelegramOptions

    settings = core.settings
    if settings.telegram_token is None:
        return None
    options = TelegramOptions(
        token=settings.telegram_token.reveal(),
        api_base=settings.telegram_api_base,
        staff_chat_id=settings.staff_chat_id,
        limits=settings.limits,
        paced=True,
    )
    return TelegramChannel(Parts(core.service, core.sessions, core.keys, core.clock, core.announce), options)


async def _updates(channel: TelegramChannel | None, settings: Settings, stop: asyncio.Event) -> None:
    """Telegram's updates (polled, or by webhook) until `stop`; with no Telegram, just wait for `stop`."""
    if channel is None:
        log.info("no ACCUEIL_TELEGRAM_TOKEN: serving the web side only")
        await stop.wait()
        return
    from bot.channels.telegram.runner import serve_webhook

    name = await channel.start()
    if settings.staff_chat_id is None:
        log.warning("ACCUEIL_STAFF_CHAT_ID is not set: no one will be told about new cases")
    log.info("bot started", extra={"bot": name, "mode": "webhook" if settings.webhook_url else "polling"})
    if not settings.webhook_url:
        await channel.poll(stop)
        return
    assert settings.webhook_secret is not None
    host, port = settings.webhook_host_port
    await serve_webhook(
        channel.bot,
        channel.dispatcher,
        url=settings.webhook_url,
        secret=settings.webhook_secret.reveal(),
        host=host,
        port=port,
        stop=stop,
    )


async def run(settings: Settings, *, allow_development_key: bool = False) -> int:
    """The long-running bot: Telegram (with a token) and the web side (unless ACCUEIL_WEB_LISTEN=off),
    in one process and one event loop, until SIGTERM or SIGINT."""
    from bot.app import web  # the console and the web chat: only `accueil run` loads them

    core = await build_core(settings)
    channel = _telegram(core)
    outbox = channel.outbox if channel is not None else core.outbox(StaffUnreachable())
    parts = web.parts(core, outbox) if settings.web.listen is not None else {}
    server = web.server(settings, parts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        if channel is None and server is None:
            raise ConfigError(
                "nothing to serve: set ACCUEIL_TELEGRAM_TOKEN, or leave ACCUEIL_WEB_LISTEN on "
                "(`accueil shell` opens the intake in this terminal)"
            )
        # A public bot refuses the development key; `make run` on this machine (no token, no https) allows it.
        local = channel is None and not settings.web.secure
        await ready_to_serve(core, allow_development_key=allow_development_key or local)
        if server is not None:
            await server.start()
            web.announce(settings, parts)
        tasks = [
            *(channel.housekeeping(stop) if channel is not None else [asyncio.create_task(outbox.run(stop))]),
            *(task for part in parts.values() for task in part.housekeeping(stop)),
            asyncio.create_task(_retention(core, stop)),
            asyncio.create_task(intake_expiry(core, stop)),
        ]
        await _updates(channel, settings, stop)
        stop.set()
        log.info("stopping: delivering what is in flight")
        if channel is not None:
            await channel.finish(tasks)
        else:
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=20.0)
        log.info("bot stopped")
        return 0
    finally:
        stop.set()
        if server is not None:
            await server.close()
        for part in parts.values():
            await part.close()
        if channel is not None:
            await channel.close()
        await core.close()
