"""The real aiogram bot as `accueil run` assembles it (flood limit, daily cap, background delivery,
optionally Bot API pacing), polling the in-process fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.channels.telegram.pacing import Pace, PacedSender
from bot.channels.telegram.runner import Poller, make_bot, make_dispatcher, publish_commands
from bot.channels.telegram.sender import TelegramSender
from bot.clock import utcnow
from bot.conversation.limits import FloodLimiter, Limits
from bot.conversation.receiver import Receiver
from bot.outbox.delivery import Outbox, Sender
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN

#: Limits that tests do not trip by accident (a test answers faster than a person).
RELAXED = Limits(flood_burst=1000, flood_per_minute=6000, conversations_per_day=1000)


@dataclass
class GuardedBot:
    core: Core
    bot: Bot
    receiver: Receiver
    outbox: Outbox


class FlakySessions:
    """A session factory whose next `failures` transactions fail to begin, as a database away would."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], failures: int = 0) -> None:
        self.sessions = sessions
        self.failures = failures
        self.failed = 0

    def __call__(self, **kwargs: Any) -> AsyncSession:
        return self.sessions(**kwargs)

    def begin(self) -> Any:
        if self.failures > 0:
            self.failures -= 1
            self.failed += 1
            return _Failing()
        return self.sessions.begin()


class _Failing:
    async def __aenter__(self) -> AsyncSession:
        raise OperationalError("BEGIN", {}, Exception("database is locked"))

    async def __aexit__(self, *exc: object) -> None:
        return None


@contextlib.asynccontextmanager
async def guarded_bot(
    api: FakeBotAPI,
    settings: Settings,
    *,
    limits: Limits = RELAXED,
    paced: bool = False,
    sessions: Callable[[async_sessionmaker[AsyncSession]], Any] | None = None,
    attempts: int = 5,
    request_timeout: int | None = None,
) -> AsyncIterator[GuardedBot]:
    core = await build_core(settings)
    bot = make_bot(TOKEN, api.base_url)
    if request_timeout is not None:
        bot.session.timeout = request_timeout
    stop = asyncio.Event()
    try:
        await publish_commands(bot, core.content.catalogs)
        sender: Sender = TelegramSender(bot)
        if paced:
            sender = PacedSender(sender, Pace(limits))
        factory = core.sessions if sessions is None else sessions(core.sessions)
        outbox = Outbox(factory, core.keys, sender, utcnow)
        receiver = Receiver(
            core.service,
            factory,
            outbox,
            attempts=attempts,
            flood=FloodLimiter(limits.flood_burst, limits.flood_per_minute),
            conversations_per_day=limits.conversations_per_day,
            background=True,
        )
        dispatcher = make_dispatcher(receiver)
        tasks = [
            asyncio.create_task(Poller(bot, dispatcher, timeout=1).run(stop)),
            asyncio.create_task(outbox.run(stop, interval=0.2)),
            asyncio.create_task(receiver.run(stop, interval=0.2)),
        ]
        try:
            yield GuardedBot(core, bot, receiver, outbox)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)
            await receiver.drain()
    finally:
        await bot.session.close()
        await core.close()
