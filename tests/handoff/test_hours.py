"""Office hours: parsing what operators write, and when the office next opens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import ConfigError
from bot.handoff.hours import parse_office_hours

PARIS_WINTER = "+01:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_split_days_and_a_lunch_break() -> None:
    hours = parse_office_hours("mon-thu 09:00-12:30 13:30-18:00; fri 09:00-16:00")
    assert hours.is_open(at(f"2026-11-23T10:00{PARIS_WINTER}"))  # Monday morning
    assert not hours.is_open(at(f"2026-11-23T13:00{PARIS_WINTER}"))  # lunch
    assert hours.next_open(at(f"2026-11-23T13:00{PARIS_WINTER}")) == at(f"2026-11-23T13:30{PARIS_WINTER}")
    assert not hours.is_open(at(f"2026-11-27T16:30{PARIS_WINTER}"))  # Friday after 16:00
    assert hours.next_open(at(f"2026-11-27T16:30{PARIS_WINTER}")) == at(f"2026-11-30T09:00{PARIS_WINTER}")


def test_the_time_zone_is_the_associations_not_the_servers() -> None:
    hours = parse_office_hours("mon-fri 09:00-18:00", "Europe/Paris")
    assert not hours.is_open(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # 08:30 in Paris
    assert hours.is_open(datetime(2026, 11, 23, 8, 30, tzinfo=UTC))  # 09:30 in Paris
    summer = datetime(2026, 7, 6, 7, 30, tzinfo=UTC)  # 09:30 in Paris (UTC+2)
    assert hours.is_open(summer)


def test_holidays_are_closed_and_skipped() -> None:
    hours = parse_office_hours("mon-fri 09:00-18:00", holidays="2026-12-24 2026-12-25")
    assert not hours.is_open(at(f"2026-12-24T10:00{PARIS_WINTER}"))
    assert hours.next_open(at(f"2026-12-23T19:00{PARIS_WINTER}")) == at(f"2026-12-28T09:00{PARIS_WINTER}")


def test_always_is_always_open() -> None:
    hours = parse_office_hours("always")
    assert hours.is_open(at(f"2026-12-25T03:00{PARIS_WINTER}"))


@pytest.mark.parametrize(
    ("spec", "zone", "holidays", "names"),
    [
        ("mon-fri", "Europe/Paris", "", "needs days and hours"),
        ("09:00-18:00", "Europe/Paris", "", "needs days and hours"),
        ("lun-ven 09:00-18:00", "Europe/Paris", "", "is not a day"),
        ("fri-mon 09:00-18:00", "Europe/Paris", "", "runs backwards"),
        ("mon 18:00-09:00", "Europe/Paris", "", "is not a time range"),
        ("mon 09:00-18:00", "Mars/Olympus", "", "ACCUEIL_TIMEZONE"),
        ("mon 09:00-18:00", "Europe/Paris", "25/12/2026", "ACCUEIL_HOLIDAYS"),
        ("", "Europe/Paris", "", "is empty"),
    ],
)
def test_what_an_operator_gets_wrong_is_named(spec: str, zone: str, holidays: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        parse_office_hours(spec, zone, holidays)
