"""The Telegram channel, wired once: `accueil run`, the tests and the benchmarks all use this.

It puts together the aiogram bot, the sender (paced within Telegram's limits),
the outbox that delivers through it, the receiver that applies updates, and the
dispatcher that feeds the receiver; `run` then polls (or serves a webhook) with
the housekeeping loops beside it until `stop` is set, and drains on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram.pacing import Pace, PacedSender
from bot.channels.telegram.runner import Poller, check_token, make_bot, make_dispatcher, publish_commands
from bot.channels.telegram.sender import TelegramSender
from bot.clock import Clock
from bot.conversation.limits import FloodLimiter, Limits
from bot.conversation.receiver import Receiver
from bot.conversation.service import ConversationService
from bot.outbox.delivery import Outbox, Sender
from storage.crypto import ServerKey

log = logging.getLogger("accueil.telegram")

#: Announces queued cases to the staff group until `stop` is set (`Core.announce`).
Announcer = Callable[[Outbox, asyncio.Event, float], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class TelegramOptions:
    token: str
    api_base: str | None = None
    staff_chat_id: int | None = None
    #: Flood limit and daily cap of conversations; None: no limit (and replies delivered inline).
    limits: Limits | None = None
    #: Keep the bot's own sending within Telegram's rates (`limits` gives them).
    paced: bool = False
    poll_timeout: int = 25
    #: How often the outbox retries, floods are recorded and queued cases announced, in seconds.
    retry_interval: float = 1.0
    settle_interval: float = 5.0
    announce_interval: float = 30.0
    #: How many times an update waits for the database before it is left for Telegram to send again.
    attempts: int = 5
    request_timeout: int | None = None


@dataclass(frozen=True)
class Parts:
    """What the channel works with, from the composition (`bot.app.compose.Core`)."""

    service: ConversationService
    sessions: async_sessionmaker[AsyncSession] | Any
    keys: ServerKey
    clock: Clock
    announce: Announcer | None = None


class TelegramChannel:
    def __init__(self, parts: Parts, options: TelegramOptions) -> None:
        self.parts = parts
        self.options = options
        self.bot = make_bot(options.token, options.api_base)
        if options.request_timeout is not None:
            self.bot.session.timeout = options.request_timeout
        sender: Sender = TelegramSender(self.bot)
        if options.paced and options.limits is not None:
            sender = PacedSender(sender, Pace(options.limits))
        self.outbox = Outbox(parts.sessions, parts.keys, sender, parts.clock, staff_chat=options.staff_chat_id)
        limits = options.limits
        self.receiver = Receiver(
            parts.service,
            parts.sessions,
            self.outbox,
            attempts=options.attempts,
            flood=None if limits is None else FloodLimiter(limits.flood_burst, limits.flood_per_minute),
            conversations_per_day=None if limits is None else limits.conversations_per_day,
            background=limits is not None,
        )
        self.dispatcher = make_dispatcher(self.receiver, options.staff_chat_id)

    async def start(self) -> str:
        """Check the token and publish the bot's neutral profile; returns the bot's username."""
        name = await check_token(self.bot)
        await publish_commands(self.bot, self.parts.service.catalogs)
        return name

    def housekeeping(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """The loops beside the updates: outbox retries, flood records, announcements."""
        interval = self.options.retry_interval
        tasks = [asyncio.create_task(self.outbox.run(stop, interval=interval))]
        if self.options.limits is not None:
            tasks.append(asyncio.create_task(self.receiver.run(stop, interval=self.options.settle_interval)))
        if self.parts.announce is not None:
            tasks.append(asyncio.create_task(self.parts.announce(self.outbox, stop, self.options.announce_interval)))
        return tasks

    async def poll(self, stop: asyncio.Event) -> None:
        await Poller(self.bot, self.dispatcher, timeout=self.options.poll_timeout).run(stop)

    async def finish(self, tasks: list[asyncio.Task[None]], *, within: float = 20.0) -> None:
        """After `stop`: replies under way delivered (`within` seconds at most), loops ended."""
        await self.receiver.drain(within)
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=within)
        except TimeoutError:
            log.warning("a housekeeping loop did not end within %.0f s; it was cancelled", within)
        if self.outbox.halted is not None:  # the token was refused: one line, exit code 2, everything kept
            raise self.outbox.halted
        with contextlib.suppress(TimeoutError):  # what is left stays queued for the next start
            await asyncio.wait_for(self.outbox.flush_due(), timeout=within)

    async def close(self) -> None:
        await self.bot.session.close()
