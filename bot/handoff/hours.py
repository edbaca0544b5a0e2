"""Office hours: when a person can answer, and when they next can.

``ACCUEIL_OFFICE_HOURS`` is a list of day ranges and time ranges separated by
``;`` or ``,`` between groups, in the association's time zone
(``ACCUEIL_TIMEZONE``, default Europe/Paris)::

    mon-fri 09:00-18:00
    mon-thu 09:00-12:30 13:30-18:00; fri 09:00-16:00
    always

``ACCUEIL_HOLIDAYS`` lists closed dates (``2026-12-25 2027-01-01``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
#: How far ahead `next_open` looks (covers long holidays).
_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday
    start: time
    end: time


@dataclass(frozen=True)
class OfficeHours:
    windows: tuple[Window, ...]
    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()
    always: bool = False

    def is_open(self, now: datetime) -> bool:
        if self.always:
            return True
        local = now.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        moment = local.time().replace(tzinfo=None)
        return any(w.weekday == local.weekday() and w.start <= moment < w.end for w in self.windows)

    def next_open(self, now: datetime) -> datetime | None:
        """The next moment the office opens (`now` itself when open); None if it never does."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.zone)
        for offset in range(_HORIZON_DAYS):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            starts = sorted(w.start for w in self.windows if w.weekday == day.weekday())
            for start in starts:
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate
        return None


def parse_office_hours(spec: str, zone: str = "Europe/Paris", holidays: str = "") -> OfficeHours:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"ACCUEIL_TIMEZONE {zone!r} is not a time zone name (e.g. Europe/Paris)") from exc
    closed = frozenset(_parse_holidays(holidays))
    text = spec.strip().lower()
    if text in ("always", "24/7"):
        return OfficeHours((), tz, closed, always=True)
    windows: list[Window] = []
    for group in re.split(r"[;\n]", text):
        words = group.replace(",", " ").split()
        if not words:
            continue
        days: list[int] = []
        ranges: list[tuple[time, time]] = []
        for word in words:
            if _RANGE.match(word):
                ranges.append(_time_range(word, spec))
            else:
                days.extend(_day_range(word, spec))
        if not days or not ranges:
            raise ConfigError(
                f"ACCUEIL_OFFICE_HOURS: {group.strip()!r} needs days and hours, e.g. 'mon-fri 09:00-18:00'"
            )
        windows.extend(Window(day, start, end) for day in days for start, end in ranges)
    if not windows:
        raise ConfigError("ACCUEIL_OFFICE_HOURS is empty; write e.g. 'mon-fri 09:00-18:00', or 'always'")
    return OfficeHours(tuple(windows), tz, closed)


def _day_range(word: str, spec: str) -> Sequence[int]:
    first, _, last = word.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise ConfigError(
            f"ACCUEIL_OFFICE_HOURS: {word!r} in {spec!r} is not a day or day range (mon tue wed thu fri sat sun)"
        )
    start, end = DAYS.index(first), DAYS.index(last or first)
    if end < start:
        raise ConfigError(f"ACCUEIL_OFFICE_HOURS: {word!r} runs backwards; write the days in week order")
    return range(start, end + 1)


def _time_range(word: str, spec: str) -> tuple[time, time]:
    match = _RANGE.match(word)
    assert match is not None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
        raise ConfigError(f"ACCUEIL_OFFICE_HOURS: {word!r} in {spec!r} is not a time range like 09:00-18:00")
    return time(h1, m1), time(h2, m2)


def _parse_holidays(text: str) -> Iterable[date]:
    for word in text.replace(",", " ").split():
        try:
            yield date.fromisoformat(word)
        except ValueError as exc:
            raise ConfigError(f"ACCUEIL_HOLIDAYS: {word!r} is not a date like 2026-12-25") from exc
