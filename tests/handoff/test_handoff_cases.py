"""A case's life as the staff are told it, through the staff-notification port.

The handoff runs on the real database with the real outbox for the person's side;
what the staff are told goes to `FakeNotifier`, which fails on anything a test
did not expect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.app.compose import Core
from bot.app.staff import staff_add
from bot.handoff import Handoff, StaffPress, parse_office_hours, texts
from bot.transcript.writer import TranscriptWriter
from storage import repo
from storage.models import Conversation, Staff
from testkit.fake_notifier import FakeNotifier, UnexpectedNotification

MARIE, PAUL, SAMIRA = 9001, 9002, 9003
SUNDAY_NIGHT = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)  # 23:00 in Paris
MONDAY_MORNING = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)  # 09:05 in Paris


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def handoff(core: Core, notifier: FakeNotifier, clock: Callable[[], datetime], hours: str = "always") -> Handoff:
    return Handoff(
        core.content.intake,
        core.content.catalogs,
        core.keys,
        TranscriptWriter(core.keys),
        translator=None,
        staff_language="fr",
        hours=parse_office_hours(hours),
        renotify=timedelta(minutes=15),
        clock=clock,
        notifier=notifier,
    )


async def _team(core: Core) -> None:
    now = datetime.now(UTC)
    await staff_add(core.sessions, core.keys, MARIE, "Marie", "caseworker", None, now)
    await staff_add(core.sessions, core.keys, PAUL, "Paul", "caseworker", None, now)
    await staff_add(core.sessions, core.keys, SAMIRA, "Samira", "interpreter", "en", now)


async def _member(session: AsyncSession, name: str) -> Staff:
    return (await session.execute(select(Staff).where(Staff.name == name))).scalar_one()


async def _queue(core: Core, desk: Handoff, now: datetime) -> str:
    """A person who chose English asks for someone: their conversation becomes a queued case."""
    async with core.sessions.begin() as session:
        public_id = repo.new_public_id()
        conversation = Conversation(
            public_id=public_id,
            channel="telegram",
            user_ref="someone",
            chat_sealed=core.keys.seal(b"7001", f"chat:{public_id}"),
            language="en",
            status="handoff",
            urgent=False,
            interpreter_needed=False,
            created_at=now,
            updated_at=now,
        )
        await repo.add_conversation(session, conversation)
        await TranscriptWriter(core.keys).start(session, conversation)
        state = engine.State("intake", "end", language="en", answers={"needs": ("accommodation",)})
        await desk.queue(session, conversation, state, {}, "asked_for_person", now)
    return public_id


async def _press(core: Core, desk: Handoff, name: str, press: StaffPress) -> str | None:
    async with core.sessions.begin() as session:
        outcome = await desk.from_staff(session, await _member(session, name), press, None)
    return outcome.toast


async def test_out_of_hours_the_staff_hear_of_a_case_at_opening_and_again_while_nobody_claims_it(core: Core) -> None:
    clock = Clock(SUNDAY_NIGHT)
    notifier = FakeNotifier()  # closed: the staff must not be told anything
    desk = handoff(core, notifier, clock, "mon-fri 09:00-18:00")
    case = await _queue(core, desk, clock.now)
    async with core.sessions.begin() as session:
        assert await desk.announce_due(session, clock.now) == []

    notifier.expect("announce")
    clock.now = MONDAY_MORNING
    async with core.sessions.begin() as session:
        assert len(await desk.announce_due(session, clock.now)) == 1
    [notice] = notifier.of("announce")
    assert (notice.case, notice.staff_id) == (case, None)
    assert notice.text.startswith(f"Nouveau dossier {case}") and "hébergement" in notice.text
    assert "En attente depuis : 10 h 05" in notice.text
    assert notice.buttons == (((texts.CLAIM_BUTTON, f"claim:{case}"),),)

    clock.now += timedelta(minutes=10)
    async with core.sessions.begin() as session:
        assert await desk.announce_due(session, clock.now) == []
    clock.now += timedelta(minutes=6)
    async with core.sessions.begin() as session:
        await desk.announce_due(session, clock.now)
    first, again = notifier.of("announce")
    assert again.text.startswith(f"Rappel : dossier en attente {case}") and again.buttons == first.buttons


async def test_one_claim_wins_the_notice_is_withdrawn_and_a_refused_claim_tells_the_staff_nothing(
    core: Core,
) -> None:
    await _team(core)
    clock = Clock(MONDAY_MORNING)
    notifier = FakeNotifier("announce")
    desk = handoff(core, notifier, clock)
    case = await _queue(core, desk, clock.now)
    assert [told.case for told in notifier.of("announce")] == [case]

    notifier.expect("withdraw", "tell")
    assert await _press(core, desk, "Marie", StaffPress("claim", case)) == texts.CLAIMED
    [withdrawn] = notifier.of("withdraw")
    assert withdrawn.text == f"Dossier {case} — pris par Marie"
    async with core.sessions() as session:
        marie = await _member(session, "Marie")
    [summary] = notifier.to(marie.id)
    assert summary.text.startswith(f"Résumé de l'entretien — dossier {case}") and texts.HELP in summary.text

    told = list(notifier.calls)
    notifier.expect()  # refusals are toasts only
    assert await _press(core, desk, "Paul", StaffPress("claim", case)) == "Dossier déjà pris par Marie."
    assert await _press(core, desk, "Marie", StaffPress("claim", case)) == texts.ALREADY_YOURS
    assert await _press(core, desk, "Samira", StaffPress("claim", case)) == texts.ONLY_CASEWORKERS_CLAIM
    assert await _press(core, desk, "Marie", StaffPress("claim", "NOSUCH")) == texts.GONE
    assert notifier.calls == told


async def test_after_a_quick_exit_everyone_on_the_case_is_warned_not_to_write_first(core: Core) -> None:
    await _team(core)
    clock = Clock(MONDAY_MORNING)
    notifier = FakeNotifier("announce", "withdraw", "tell")
    desk = handoff(core, notifier, clock)
    case = await _queue(core, desk, clock.now)
    await _press(core, desk, "Marie", StaffPress("claim", case))
    async with core.sessions() as session:
        marie, paul, samira = [await _member(session, name) for name in ("Marie", "Paul", "Samira")]
    assert await _press(core, desk, "Marie", StaffPress("invite", case, samira.id)) == "Samira est invité·e."
    assert "Marie vous invite sur le dossier" in notifier.to(samira.id)[-1].text

    notifier.calls.clear()
    notifier.expect("tell")
    async with core.sessions.begin() as session:
        conversation = await repo.by_public_id(session, case)
        assert conversation is not None
        await desk.victim_left(session, conversation, clock.now)
    assert [told.staff_id for told in notifier.calls] == [marie.id, samira.id]
    assert all(told.text == texts.victim_left(case) for told in notifier.calls)
    assert notifier.to(paul.id) == []


async def test_the_fake_notifier_fails_loudly_on_what_the_test_did_not_expect(core: Core) -> None:
    notifier = FakeNotifier()
    desk = handoff(core, notifier, Clock(MONDAY_MORNING))
    with pytest.raises(UnexpectedNotification, match="unexpected announce to the staff group about case"):
        await _queue(core, desk, MONDAY_MORNING)
    with pytest.raises(ValueError, match="not a StaffNotifier call"):
        notifier.expect("shout")
