"""In-tree fakes, one per port, for tests and benchmarks. Each keeps what it was asked and fails
loudly (AssertionError, or the port's own error) on a use it was not set up for, so that a test
never passes on a path nobody meant to take.

- `RecordingSender`: the outbound `Sender` port of the outbox; records every item it is asked to deliver.
- `FakeTranslator`: the `Translator` port; knows only the pairs it is given and marks what it translated.
- `FakeClock`: the wall clock the service, the outbox and the announcer read; moves only when told.
- `FakeMonotonic`: a monotonic clock with its own `sleep`, for the pacing limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.channels.base import OutItem
from bot.translation.port import NoTranslationPath, Route, Translation, find_route

#: The item kinds the outbox hands a sender (see `OutItem.kind`).
ITEM_KINDS = frozenset({"message", "notice", "close", "reselect", "erase", "retire", "copy"})


class RecordingSender:
    """A sender that keeps what it was asked to deliver, in order, and answers with a new message id."""

    def __init__(self) -> None:
        self.items: list[tuple[str, OutItem]] = []

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        if item.kind not in ITEM_KINDS:
            raise AssertionError(f"RecordingSender: the outbox asked for an unknown item kind {item.kind!r}")
        self.items.append((chat, item))
        return str(len(self.items))

    def last_question(self) -> OutItem:
        """The last message delivered with buttons."""
        for _, item in reversed(self.items):
            if item.kind == "message" and item.buttons:
                return item
        raise AssertionError(f"RecordingSender: no question among the {len(self.items)} items delivered")


class FakeTranslator:
    """Translates only the pairs it is given (directly or through English), marking each hop: `[en>fr] text`."""

    def __init__(self, pairs: set[tuple[str, str]]) -> None:
        self.pairs = set(pairs)
        self.calls: list[tuple[str, str, str]] = []

    def route(self, source: str, target: str) -> Route | None:
        return find_route(self.pairs, source, target)

    async def translate(self, text: str, source: str, target: str) -> Translation:
        route = self.route(source, target)
        if route is None:
            raise NoTranslationPath(f"no model translates {source} to {target}")
        self.calls.append((text, source, target))
        out = text
        for hop_source, hop_target in route.hops:
            out = f"[{hop_source}>{hop_target}] {out}"
        return Translation(out, source, target, route)


class FakeClock:
    """A timezone-aware wall clock that stands still until a test moves it; it never goes back."""

    def __init__(self, now: datetime) -> None:
        self.now = self._checked(now)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        moment = self._checked(moment)
        if moment < self.now:
            raise AssertionError(f"FakeClock: time does not go back ({moment.isoformat()} < {self.now.isoformat()})")
        self.now = moment

    def advance(self, delta: timedelta) -> None:
        self.set(self.now + delta)

    @staticmethod
    def _checked(moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise AssertionError("FakeClock: a naive datetime; the bot reads aware UTC times")
        return moment


class FakeMonotonic:
    """Seconds on a monotonic clock that only `sleep` moves: a paced sender waits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        if delay < 0:
            raise AssertionError(f"FakeMonotonic: asked to sleep a negative delay ({delay})")
        self.now += delay
