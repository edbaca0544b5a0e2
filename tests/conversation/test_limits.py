"""The limits themselves, with time as a parameter: the flood limiter and the Bot API pacing."""

from __future__ import annotations

import itertools

import pytest

from bot import engine
from bot.channels.telegram.pacing import Gcra, Pace, Slots
from bot.conversation.limits import Dropped, FloodLimiter, Limits, Verdict, is_quick_exit, parse_limits
from bot.errors import ConfigError
from testkit.fakes import FakeMonotonic

ALICE = ("telegram", "1")
BOB = ("telegram", "2")


def test_a_burst_passes_then_one_warning_then_drops() -> None:
    limiter = FloodLimiter(burst=3, per_minute=6)  # one more every 10 s
    verdicts = [limiter.check(ALICE, 0.0, str(ref)) for ref in range(7)]
    assert verdicts == [Verdict.ALLOW] * 3 + [Verdict.WARN] + [Verdict.DROP] * 3
    assert limiter.take_dropped(ALICE) == Dropped(4, ("3", "4", "5", "6"))
    assert limiter.take_dropped(ALICE) is None
    # Someone else is not affected.
    assert limiter.check(BOB, 0.0) is Verdict.ALLOW


def test_a_flood_lasts_until_the_person_calms_down() -> None:
    limiter = FloodLimiter(burst=4, per_minute=60)  # one more every second
    for _ in range(5):
        limiter.check(ALICE, 0.0)
    assert limiter.flooding(ALICE)
    # Writing on at one a second never lets the bucket fill: still dropped.
    assert [limiter.check(ALICE, float(t)) for t in range(1, 10)] == [Verdict.DROP] * 9
    # Quiet for two seconds (half the bucket): accepted again, no new warning.
    assert limiter.check(ALICE, 12.0) is Verdict.ALLOW
    assert not limiter.flooding(ALICE)
    assert limiter.take_dropped(ALICE) == Dropped(10)


def test_the_quick_exit_is_never_limited() -> None:
    limiter = FloodLimiter(burst=1, per_minute=1)
    assert limiter.check(ALICE, 0.0) is Verdict.ALLOW
    assert limiter.check(ALICE, 0.0) is Verdict.WARN
    assert limiter.check(ALICE, 0.0, exempt=True) is Verdict.ALLOW
    assert is_quick_exit(engine.Command("exit"))
    assert is_quick_exit(engine.Press(3, "__exit__"))
    assert not is_quick_exit(engine.Press(3, "yes"))
    assert not is_quick_exit(engine.TextIn("/exit"))  # text is parsed into a command before this


def test_calmed_hands_over_finished_floods_and_forgets_rested_people() -> None:
    limiter = FloodLimiter(burst=2, per_minute=60)
    for ref in range(4):
        limiter.check(ALICE, 0.0, str(ref))
    limiter.check(BOB, 0.0)
    assert limiter.calmed(0.5) == []  # still flooding
    assert limiter.calmed(1.0) == [(ALICE, Dropped(2, ("2", "3")))]
    assert limiter.calmed(1.0) == []
    assert limiter.calmed(10.0) == [] and len(limiter) == 0


def test_dropped_counts_given_back_are_not_lost() -> None:
    limiter = FloodLimiter(burst=1, per_minute=60)
    limiter.check(ALICE, 0.0)
    limiter.check(ALICE, 0.0, "9")
    taken = limiter.take_dropped(ALICE)
    assert taken == Dropped(1, ("9",))
    limiter.give_back(ALICE, taken)
    assert limiter.take_dropped(ALICE) == Dropped(1, ("9",))


def test_limit_settings_are_read_and_checked() -> None:
    values = {"flood_burst": "5", "send_chat_interval": "0.5", "other": "x"}
    assert parse_limits(values) == Limits(flood_burst=5, send_chat_interval=0.5)
    assert values == {"other": "x"}
    with pytest.raises(ConfigError, match="ACCUEIL_FLOOD_BURST must be a whole number, at least 1"):
        parse_limits({"flood_burst": "0"})
    with pytest.raises(ConfigError, match="ACCUEIL_SEND_PER_SECOND must be a number"):
        parse_limits({"send_per_second": "fast"})


def test_gcra_spaces_sends_after_a_burst() -> None:
    limit = Gcra(1.0, burst=3)
    times = []
    for _ in range(5):
        at = limit.earliest(0.0)
        limit.take(at)
        times.append(at)
    assert times == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_slots_let_an_early_send_pass_a_booked_later_one() -> None:
    slots = Slots(0.1)
    assert slots.book(5.0) == 5.0
    assert slots.book(0.0) == 0.0  # not held behind the send booked at 5 s
    assert slots.book(0.0) == pytest.approx(0.1)


async def test_pace_keeps_every_limit() -> None:
    clock = FakeMonotonic()
    pace = Pace(
        Limits(send_per_second=10, send_chat_interval=1.0, send_chat_burst=2, send_group_per_minute=30),
        clock=clock,
        sleep=clock.sleep,
    )
    private = [pace.reserve("7") for _ in range(4)]
    assert private == [0.0, pytest.approx(0.1), 1.0, 2.0]
    group = [pace.reserve("-100") for _ in range(3)]
    assert group[1] - group[0] >= 2.0 and group[2] - group[1] >= 2.0
    many = sorted(pace.reserve(str(chat)) for chat in range(100, 130))
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(many))
    assert len([t for t in many if t < 1.0]) <= 10
    await pace.wait("7")
    assert clock.now >= 2.0  # the chat's own spacing, and a free slot overall
