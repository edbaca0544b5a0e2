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
from bot.channels.telegram.channel import Parts, TelegramChannel, TelegramOptions
from bot.channels.telegram.runner import publish_commands
from bot.conversation.limits import Limits
from bot.conversation.receiver import Receiver
from bot.outbox.delivery import Outbox
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
    factory = core.sessions if sessions is None else sessions(core.sessions)
    options = TelegramOptions(
        TOKEN,
        api.base_url,
        limits=limits,
        paced=paced,
        poll_timeout=1,
        retry_interval=0.2,
        settle_interval=0.2,
        attempts=attempts,
        request_timeout=request_timeout,
    )
    channel = TelegramChannel(Parts(core.service, factory, core.keys, core.clock), options)
    stop = asyncio.Event()
    try:
        await publish_commands(channel.bot, core.content.catalogs)
        tasks = [asyncio.create_task(channel.poll(stop)), *channel.housekeeping(stop)]
        try:
            yield GuardedBot(core, channel.bot, channel.receiver, channel.outbox)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=15)
            await channel.receiver.drain()
    finally:
        await channel.close()
        await core.close()
