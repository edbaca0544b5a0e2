"""The intake summary is under the server key only until the claiming caseworker has it, through the
real bot and the fake Bot API: the outbox holds it until the delivery is confirmed, then nothing does;
a quick exit destroys it at once; the transcript keeps it sealed to the recipients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import engine
from bot.app.compose import Core
from bot.app.settings import Settings
from bot.app.staff import staff_add
from bot.handoff import Handoff, StaffPress, parse_office_hours, texts
from bot.transcript.writer import Entry, TranscriptWriter, read_transcript
from storage import repo
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage, Staff
from testkit.fake_notifier import FakeNotifier
from testkit.staffed import GROUP, MARIE, MARIE_ID, Team, staffed_bot, words


@pytest.fixture
async def team(settings: Settings) -> AsyncIterator[Team]:
    async with staffed_bot(settings) as staffed:
        yield staffed


async def _to_marie(team: Team) -> list[OutboxMessage]:
    async with team.running.core.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.destination == f"staff:{MARIE_ID}")
        return list((await session.execute(query.order_by(OutboxMessage.id))).scalars().all())


async def test_the_summary_is_destroyed_once_delivered_and_then_said_to_be_in_the_transcript(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api = team.api
    victim, case, notice = await team.hand_off_in_arabic(7301)
    victim.write("CANARY-WHILE-QUEUED")  # added to the summary while the case waits
    await team.said_to(victim.user_id, team.render("ar", "common.with_person"))
    assert (await team.conversation(case)).summary_sealed is not None

    # Marie claims while her chat does not answer: the summary waits in the outbox, and only there.
    api.fail_next("sendMessage", status=502, count=1000, chat_id=MARIE)
    sent_before = len(await _to_marie(team))
    api.user_presses(MARIE, notice.message_id, f"claim:{case}", chat_id=GROUP)
    await api.wait_until(
        lambda: any(c.status == 502 and c.params.get("chat_id") == MARIE for c in api.calls_of("sendMessage")), 10
    )
    assert (await team.conversation(case)).summary_sealed is None
    waiting = [row for row in await _to_marie(team) if row.status == "pending"]
    assert len(await _to_marie(team)) > sent_before and waiting and waiting[0].payload_sealed is not None

    api.clear_faults()
    async with team.running.core.sessions.begin() as session:  # the retry is due now, not in a few seconds
        for row in (await session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending"))).scalars():
            row.next_attempt_at = row.created_at
    summary = await team.said_to(MARIE, f"Résumé de l'entretien — dossier {case}")
    assert "CANARY-WHILE-QUEUED" in words(summary)
    for _ in range(100):  # the outbox records the delivery just after the Bot API answers
        rows = await _to_marie(team)
        if all(row.status == "sent" for row in rows):
            break
        await asyncio.sleep(0.05)
    assert rows and all(row.status == "sent" and row.payload_sealed is None for row in rows)
    assert (await team.conversation(case)).summary_sealed is None

    # Asked again: no server-readable copy is left; it is in the transcript, sealed to the recipients.
    api.user_sends_text(MARIE, "/summary")
    again = await team.said_to(MARIE, f"dossier {case}")
    assert words(again).startswith(texts.summary_in_transcript(case)) and "CANARY" not in words(again)
    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    assert any(e.kind == "summary" and f"dossier {case}" in (e.text or "") for e in entries)
    assert "CANARY-WHILE-QUEUED" in [e.text for e in entries if e.who == "victim"]


async def test_a_quick_exit_destroys_the_summary_at_once(team: Team) -> None:
    victim, case, notice = await team.hand_off_in_arabic(7302)
    victim.write("CANARY-BEFORE-EXIT")
    await team.said_to(victim.user_id, team.render("ar", "common.with_person"))
    assert (await team.conversation(case)).summary_sealed is not None
    victim.write("/exit")
    await team.api.wait_until(lambda: all(m.deleted for m in team.api.chat_messages(victim.user_id)), 10)
    assert (await team.conversation(case)).summary_sealed is None

    told = await team.claim(MARIE, case, notice)
    assert words(told).startswith(texts.summary_in_transcript(case)) and "CANARY" not in words(told)


async def test_words_written_while_the_case_is_being_claimed_reach_the_caseworker_and_leave_no_summary(
    core: Core,
) -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    await staff_add(core.sessions, core.keys, MARIE, "Marie", "caseworker", None, now)
    notifier = FakeNotifier("announce", "withdraw", "tell")
    desk = Handoff(
        core.content.intake,
        core.content.catalogs,
        core.keys,
        TranscriptWriter(core.keys),
        translator=None,
        staff_language="fr",
        hours=parse_office_hours("always"),
        renotify=timedelta(minutes=15),
        clock=lambda: now,
        notifier=notifier,
    )
    async with core.sessions.begin() as session:
        public_id = repo.new_public_id()
        conversation = Conversation(
            public_id=public_id,
            channel="telegram",
            user_ref="someone",
            chat_sealed=core.keys.seal(b"7001", f"chat:{public_id}"),
            language="en",
            status="handoff",
            created_at=now,
            updated_at=now,
        )
        await repo.add_conversation(session, conversation)
        await TranscriptWriter(core.keys).start(session, conversation)
        await desk.queue(session, conversation, engine.State("intake", "end", language="en"), {}, "asked", now)

    # The person's update has read the case (still queued) when Marie's claim is applied and committed.
    async with core.sessions() as person:
        seen = await repo.by_public_id(person, public_id)
        assert seen is not None and seen.case_status == "queued"
        async with core.sessions.begin() as staff_side:
            marie = (await staff_side.execute(select(Staff).where(Staff.name == "Marie"))).scalar_one()
            await desk.from_staff(staff_side, marie, StaffPress("claim", public_id), None)
        said = [Entry("victim", now.isoformat(), "message", text="CANARY-RACE", language="en")]
        relayed = await desk.from_victim(person, seen, engine.TextIn("CANARY-RACE"), said, "7001", None, now)
        await person.commit()
    assert relayed is True
    assert "CANARY-RACE" in notifier.to(marie.id)[-1].text
    async with core.sessions() as session:
        after = await repo.by_public_id(session, public_id)
    assert after is not None and after.summary_sealed is None and after.caseworker_id == marie.id
