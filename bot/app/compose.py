"""Assembling Accueil from its settings: the pieces every command shares."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app.settings import Settings
from bot.channels.base import Sender
from bot.clock import utcnow
from bot.conversation.service import ConversationService
from bot.engine import Dialog, DialogCheck, load_dialogs
from bot.engine.messages import ENGINE_KEYS
from bot.errors import ConfigError, DialogError
from bot.handoff import Handoff
from bot.language.detect import LanguageGuesser
from bot.language.i18n import BOT_KEYS, Catalogs, check_catalogs, load_catalogs
from bot.outbox.delivery import Outbox
from bot.transcript import certificates
from bot.transcript.writer import TranscriptWriter
from bot.translation.argos import ArgosTranslator
from storage import db, keystore
from storage.crypto import ServerKey, load_server_key

INTAKE = "intake"
log = logging.getLogger("accueil.app")

#: The collector's first generation is collected after this many allocations (Python's default: 700).
#: A step allocates tens of thousands of short-lived objects (aiogram's and SQLAlchemy's); at 700 the
#: collector runs dozens of times a step and promotes live request objects to older generations.
GC_FIRST_GENERATION = 20_000
_frozen: list[bool] = []


def settle_collector() -> None:
    """After start-up: what is loaded by then (modules, dialogs, catalogs, models) lives as long as the
    process, so it is moved out of the collector's reach (`gc.freeze`, once a process), and the first
    generation is collected less often. Cycles are still collected; nothing is kept that was not."""
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen.append(True)
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION, second, third)


@dataclass(frozen=True)
class Content:
    dialogs: dict[str, Dialog]
    catalogs: Catalogs

    @property
    def intake(self) -> Dialog:
        return self.dialogs[INTAKE]


def load_content(settings: Settings) -> Content:
    """Load and check every dialog against every catalog; raise `DialogCheck` listing all problems."""
    paths = sorted(settings.dialogs_dir.glob("*.yaml"))
    if not paths:
        raise ConfigError(f"no dialog found in {settings.dialogs_dir} (ACCUEIL_DIALOGS_DIR)")
    dialogs = load_dialogs(paths)
    try:
        catalogs = load_catalogs(settings.locales_dir, settings.default_language)
    except DialogError as exc:
        raise DialogCheck([exc]) from exc
    if settings.default_language not in catalogs:
        raise ConfigError(
            f"ACCUEIL_DEFAULT_LANGUAGE is {settings.default_language!r} but there is no catalog for it in "
            f"{settings.locales_dir}"
        )
    problems = check_catalogs(dialogs.values(), catalogs, ENGINE_KEYS | BOT_KEYS)
    if problems:
        raise DialogCheck(problems)
    if INTAKE not in dialogs:
        raise ConfigError(f"no dialog defines `flow: {INTAKE}` in {settings.dialogs_dir}")
    return Content(dialogs, catalogs)


@dataclass
class Core:
    settings: Settings
    content: Content
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keys: ServerKey
    service: ConversationService
    translator: ArgosTranslator
    handoff: Handoff
    clock: Callable[[], datetime] = utcnow

    async def announce(self, outbox: Outbox, stop: asyncio.Event, interval: float = 30.0) -> None:
        """Tell the staff group about queued cases (new, or waiting too long) until `stop` is set."""
        while not stop.is_set():
            try:
                async with self.sessions.begin() as session:
                    touched = await self.handoff.announce_due(session, self.clock())
                for conversation_id in touched:
                    await outbox.flush(conversation_id)
            except Exception:  # the loop must outlive one bad round (the database away, say)
                log.exception("announcing queued cases failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def outbox(self, sender: Sender) -> Outbox:
        return Outbox(self.sessions, self.keys, sender, self.clock, staff_chat=self.settings.staff_chat_id)

    async def close(self) -> None:
        await self.engine.dispose()
        self.translator.close()


async def build_core(settings: Settings, *, clock: Callable[[], datetime] = utcnow, migrate: bool = True) -> Core:
    """Content checked, database migrated, server key loaded: ready for a channel."""
    content = load_content(settings)
    keys = load_server_key(
        settings.data_dir, settings.server_key.reveal() if settings.server_key else None, create=True
    )
    engine = db.make_engine(settings.database_url)
    try:
        if migrate:
            await db.upgrade(engine)
        else:
            await db.check_current(engine)
    except BaseException:
        await engine.dispose()
        raise
    translator = ArgosTranslator(
        settings.models_dir, compute_type=settings.mt_compute_type, threads=settings.mt_threads
    )
    handoff = Handoff(
        content.intake,
        content.catalogs,
        keys,
        TranscriptWriter(keys),
        translator=translator,
        staff_language=settings.staff_language,
        hours=settings.office_hours,
        renotify=timedelta(minutes=settings.renotify_minutes),
        clock=clock,
        staff_group=settings.staff_chat_id is not None,
    )
    service = ConversationService(
        content.intake,
        content.catalogs,
        keys,
        clock=clock,
        translator=translator,
        staff_language=settings.staff_language,
        guesser=LanguageGuesser(c.language for c in content.catalogs),
        handoff=handoff,
    )
    sessions = db.session_factory(engine)
    keystore.attach(sessions, settings.data_dir)
    certificates.pin(sessions, settings.association_key)
    settle_collector()
    return Core(settings, content, engine, sessions, keys, service, translator, handoff, clock)
