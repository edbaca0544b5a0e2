"""Keeping the bot within Telegram's sending limits, without blocking the event loop.

Telegram asks bots to send at most about 30 messages a second overall, about
one a second in a private chat (short bursts are tolerated) and 20 a minute
in a group. `Pace` gives each send a slot that respects all three and the
sender sleeps (asynchronously) until it; nothing else waits. A chat's limit
is a generic cell rate algorithm (GCRA): it keeps the theoretical time the
chat's next send is due, and a send may come early by at most the burst it
tolerates. The overall limit is a row of time slots, one send each, so a chat
booked a second ahead does not hold up another that may send now.

`PacedSender` wraps the channel's sender, so the outbox's Telegram limits hold
whatever the load; the outbox still honours a 429's `retry_after` if one comes.
Group chats are the ones with a negative id.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from bot.channels.base import OutItem, Sender
from bot.conversation.limits import Limits


class Gcra:
    """One rate: a send every `interval` seconds, up to `burst` of them at once."""

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, interval: float, burst: int = 1) -> None:
        self.interval = interval
        self.tolerance = max(0, burst - 1) * interval
        self.tat = float("-inf")  # the theoretical time of the next send

    def earliest(self, now: float) -> float:
        """The first moment from `now` a send conforms."""
        return max(now, self.tat - self.tolerance)

    def take(self, at: float) -> None:
        """Record a send at `at` (no earlier than `earliest`)."""
        self.tat = max(self.tat, at) + self.interval


class Slots:
    """At most one send in each `interval`-long slot of time; any free slot can be booked."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._taken: set[int] = set()

    def book(self, at: float) -> float:
        """The first moment from `at` in a free slot, booked."""
        slot = math.floor(at / self.interval)
        while slot in self._taken:
            slot += 1
        self._taken.add(slot)
        return max(at, slot * self.interval)

    def forget_before(self, now: float) -> None:
        first = math.floor(now / self.interval)
        self._taken = {slot for slot in self._taken if slot >= first}


class Pace:
    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self._all = Slots(1.0 / limits.send_per_second)
        self._chats: dict[str, Gcra] = {}
        self._since_prune = 0

    def reserve(self, chat: str) -> float:
        """Book the next slot for `chat`; return when it is (on the pace's clock)."""
        now = self.clock()
        limit = self._chats.get(chat)
        if limit is None:
            limit = self._chats[chat] = self._limit_for(chat)
        at = self._all.book(limit.earliest(now))
        limit.take(at)
        self._prune(now)
        return at

    async def wait(self, chat: str) -> None:
        delay = self.reserve(chat) - self.clock()
        if delay > 0:
            await self.sleep(delay)

    def _limit_for(self, chat: str) -> Gcra:
        if chat.startswith("-"):  # groups and channels
            return Gcra(60.0 / self.limits.send_group_per_minute)
        return Gcra(self.limits.send_chat_interval, self.limits.send_chat_burst)

    def _prune(self, now: float) -> None:
        """Forget chats whose limit is back to rest (they behave as new ones)."""
        self._since_prune += 1
        if self._since_prune < 100:
            return
        self._since_prune = 0
        self._all.forget_before(now)
        for chat in [chat for chat, limit in self._chats.items() if limit.tat <= now]:
            del self._chats[chat]


class PacedSender:
    """A `Sender` that waits for its slot, then lets the wrapped sender deliver."""

    def __init__(self, sender: Sender, pace: Pace) -> None:
        self.sender = sender
        self.pace = pace

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        await self.pace.wait(chat)
        return await self.sender.deliver(chat, item)
