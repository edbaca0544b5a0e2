"""How fast one person may write: a token bucket per person, one warning, then silence.

Pure: time is a parameter and nothing leaves memory. Each person has a bucket
of `burst` messages that refills at `per_minute`. A message that finds the
bucket empty starts a flood: it is answered with one warning (`WARN`), and
every message after it is dropped (`DROP`) until the bucket is half full again
(the person has calmed down). Messages dropped during a flood still take from
the bucket, so writing on at speed keeps it empty. The quick exit is never
limited.

    ALLOW ──(bucket empty)──► WARN ──► DROP, DROP ... ──(bucket half full)──► ALLOW

What was dropped is remembered only as a count and the channel's message ids
(to erase them on a quick exit), never as content: `take_dropped` hands them
to the caller to record, with the person's next accepted message or, when the
person has gone quiet, through `calmed`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from enum import Enum

from bot import engine
from bot.engine.keyboard import EXIT_VALUE
from bot.errors import ConfigError

#: How many message ids of one flood are kept for erasure; the count goes on.
MAX_REFS = 5000

Key = tuple[str, str]  # (channel, the channel's user id), in memory only


@dataclass(frozen=True)
class Limits:
    """The limits an operator can set (`ACCUEIL_FLOOD_BURST` ...); the defaults suit Telegram."""

    #: A person may send this many messages at once ...
    flood_burst: int = 10
    #: ... and then this many a minute (one every two seconds: faster than anyone types).
    flood_per_minute: float = 30.0
    #: Conversations one person may open in 24 hours (a quick exit ends one).
    conversations_per_day: int = 10
    #: Bot API: messages a second over all chats, the spacing in one private chat (with a
    #: short burst allowed), and messages a minute in one group.
    send_per_second: float = 30.0
    send_chat_interval: float = 1.0
    send_chat_burst: int = 3
    send_group_per_minute: float = 20.0


#: Setting names (lower case, without ACCUEIL_) and how each is read.
_SETTINGS: dict[str, tuple[type, float]] = {
    "flood_burst": (int, 1),
    "flood_per_minute": (float, 0.1),
    "conversations_per_day": (int, 1),
    "send_per_second": (float, 0.1),
    "send_chat_interval": (float, 0.0),
    "send_chat_burst": (int, 1),
    "send_group_per_minute": (float, 0.1),
}
SETTING_NAMES = frozenset(_SETTINGS)


def parse_limits(values: MutableMapping[str, str]) -> Limits:
    """Take the limit settings out of `values` (raw strings); `ConfigError` names a bad one."""
    found: dict[str, int | float] = {}
    for name, (kind, least) in _SETTINGS.items():
        raw = values.pop(name, None)
        if raw is None:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < least:
            what = "a whole number" if kind is int else "a number"
            raise ConfigError(f"ACCUEIL_{name.upper()} must be {what}, at least {least:g} (got {raw!r})")
        found[name] = value
    return Limits(**found)  # type: ignore[arg-type]


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first message too many: drop it, and warn once
    DROP = "drop"


@dataclass(frozen=True)
class Dropped:
    """What a flood left behind: how many messages, and their ids in the chat."""

    count: int
    refs: tuple[str, ...] = ()

    def __add__(self, other: Dropped) -> Dropped:
        return Dropped(self.count + other.count, (*self.refs, *other.refs)[:MAX_REFS])


@dataclass
class _Bucket:
    level: float
    at: float
    flooding: bool = False
    dropped: int = 0
    refs: list[str] = field(default_factory=list)


def is_quick_exit(event: engine.Event) -> bool:
    """`/exit` or the exit button of any keyboard, old or new: never limited, never delayed."""
    return (isinstance(event, engine.Command) and event.name == "exit") or (
        isinstance(event, engine.Press) and event.value == EXIT_VALUE
    )


class FloodLimiter:
    def __init__(self, burst: int, per_minute: float) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("a flood limit needs a burst of at least 1 and a positive rate")
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self._buckets: dict[Key, _Bucket] = {}

    def check(self, key: Key, now: float, ref: str | None = None, *, exempt: bool = False) -> Verdict:
        """The verdict on one message of `key` arriving at `now` (seconds, any monotonic origin)."""
        bucket = self._refilled(key, now)
        if exempt:
            return Verdict.ALLOW
        if bucket.flooding and bucket.level >= self.burst / 2:
            bucket.flooding = False
        if not bucket.flooding and bucket.level >= 1:
            bucket.level -= 1
            return Verdict.ALLOW
        bucket.level = max(0.0, bucket.level - 1)
        bucket.dropped += 1
        if ref is not None and len(bucket.refs) < MAX_REFS:
            bucket.refs.append(ref)
        if bucket.flooding:
            return Verdict.DROP
        bucket.flooding = True
        return Verdict.WARN

    def take_dropped(self, key: Key) -> Dropped | None:
        """What was dropped for `key` and not yet recorded; the caller records it (or gives it back)."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.dropped == 0:
            return None
        dropped = Dropped(bucket.dropped, tuple(bucket.refs))
        bucket.dropped, bucket.refs = 0, []
        return dropped

    def give_back(self, key: Key, dropped: Dropped) -> None:
        """Recording failed: keep the count for the next try."""
        bucket = self._buckets.setdefault(key, _Bucket(level=self.burst, at=float("-inf")))
        bucket.dropped += dropped.count
        bucket.refs = [*dropped.refs, *bucket.refs][:MAX_REFS]

    def calmed(self, now: float) -> list[tuple[Key, Dropped]]:
        """Floods that are over with drops not yet recorded; forgets people back to a full bucket."""
        over: list[tuple[Key, Dropped]] = []
        for key in list(self._buckets):
            bucket = self._refilled(key, now)
            if bucket.flooding and bucket.level >= self.burst / 2:
                bucket.flooding = False
            if not bucket.flooding and bucket.dropped:
                over.append((key, Dropped(bucket.dropped, tuple(bucket.refs))))
                bucket.dropped, bucket.refs = 0, []
            if not bucket.flooding and bucket.level >= self.burst:
                del self._buckets[key]
        return over

    def take_all(self) -> list[tuple[Key, Dropped]]:
        """Everything dropped and not yet recorded, floods over or not (at shutdown)."""
        found = [(key, self.take_dropped(key)) for key in list(self._buckets)]
        return [(key, dropped) for key, dropped in found if dropped is not None]

    def forget(self, key: Key) -> None:
        """Start `key` afresh (someone who must never be limited, found out at their first warning)."""
        self._buckets.pop(key, None)

    def flooding(self, key: Key) -> bool:
        bucket = self._buckets.get(key)
        return bucket is not None and bucket.flooding

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: Key, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(level=self.burst, at=now)
            return bucket
        if now > bucket.at:
            bucket.level = min(self.burst, bucket.level + (now - bucket.at) * self.rate)
            bucket.at = now
        return bucket
