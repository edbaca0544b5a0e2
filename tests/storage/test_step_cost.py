"""What a step costs the database, and the mechanisms that keep it low, on both engines.

No test here measures time: statements and commits are counted, and the
queued messages' writing is checked for what it must keep (order, visibility
inside the transaction, nothing left after a rollback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.compose import GC_FIRST_GENERATION
from bot.app.settings import Settings
from storage import repo, transcripts
from storage.db import make_engine, session_factory, upgrade
from storage.models import Conversation, OutboxMessage
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


class Abort(Exception):
    pass


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[dict[str, int]]:
    """Statements the engine sends to the database (an executemany counts once), and commits."""
    counts = {"statements": 0, "commits": 0}

    def statement(*_: Any) -> None:
        counts["statements"] += 1

    def commit(*_: Any) -> None:
        counts["commits"] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine, "commit", commit)


async def _conversation(sessions: Any, now: datetime) -> int:
    async with sessions.begin() as session:
        conversation = Conversation(
            public_id=repo.new_public_id(),
            channel="telegram",
            user_ref="someone",
            chat_sealed=b"chat",
            status="intake",
            created_at=now,
            updated_at=now,
        )
        await repo.add_conversation(session, conversation)
        return conversation.id


async def test_queued_messages_are_one_statement_in_order_and_seen_by_the_transaction(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        conversation_id = await _conversation(sessions, now)
        async with sessions.begin() as session:
            with counted(engine) as counts:
                for turn, kind in enumerate(("close", "message", "message")):
                    await repo.enqueue(session, conversation_id, kind, f"{kind}-{turn}".encode(), turn or None, now)
                assert counts["statements"] == 0  # nothing written yet
                # A query in the same transaction sees them: they are written just before it, at once.
                pending = await repo.pending_for(session, conversation_id)
                assert counts["statements"] == 2
            assert [m.payload_sealed for m in pending] == [b"close-0", b"message-1", b"message-2"]
            assert [m.turn for m in pending] == [None, 1, 2]
            assert pending[0].id < pending[1].id < pending[2].id
            # Written before the commit too, with no query in between.
            await repo.enqueue(session, conversation_id, "message", b"last", None, now)
        async with sessions() as session:
            assert [m.payload_sealed for m in await repo.pending_for(session, conversation_id)][-1] == b"last"
    finally:
        await engine.dispose()


async def test_queued_messages_go_with_a_rolled_back_transaction(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        conversation_id = await _conversation(sessions, now)
        with pytest.raises(Abort):
            async with sessions.begin() as session:
                await repo.enqueue(session, conversation_id, "message", b"never", None, now)
                raise Abort
        async with sessions.begin() as session:
            await repo.enqueue(session, conversation_id, "message", b"kept", None, now)
        async with sessions() as session:
            payloads = (await session.execute(select(OutboxMessage.payload_sealed))).scalars().all()
            assert payloads == [b"kept"]
            assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    finally:
        await engine.dispose()


async def test_a_question_sent_in_the_same_session_is_found_by_its_close(database_url: str) -> None:
    # `mark_sent` leaves the rows in the session's memory as they were read; the question's message id
    # must still be read from the database, not from a row that was read while it was pending.
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        conversation_id = await _conversation(sessions, now)
        async with sessions.begin() as session:
            await repo.enqueue(session, conversation_id, "message", b"question", 4, now)
        async with sessions() as session:
            (question,) = await repo.pending_for(session, conversation_id)
            assert await repo.sent_question(session, conversation_id, 4) is None
            await repo.mark_sent(session, question.id, "777", now)
            await session.commit()
            assert await repo.sent_question(session, conversation_id, 4) == "777"
    finally:
        await engine.dispose()


async def test_an_intake_step_costs_few_statements_and_commits(settings: Settings) -> None:
    # 13 steps through the real bot: the update's transaction (who the person is, their conversation
    # with its transcript, the claim, the new state, the transcript entry, the queued replies in one
    # statement) and the delivery (the queue, then each reply marked sent and committed alone).
    # Before the statements were trimmed a step took about 18 statements.
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        person = Victim(api, user_id=7100, language_code="en")
        person.write("/start")
        await person.answer("English")
        with counted(running.core.engine) as counts:
            for answer in ("No", "Yes", "For myself", "Forced or unpaid work", "I prefer not", "Someone took them"):
                await person.answer(answer)
            await person.question()
            await api.wait_updates_consumed()
    steps = 6
    # Transcripts v2 read the case's current epoch at each append (a revocation in another process
    # may have started a new one): one statement more than the 13 of the v1 chain.
    assert counts["statements"] / steps <= 14, counts
    assert counts["commits"] / steps <= 4.5, counts  # the test harness also commits every 0.2 s (announcements)


async def test_the_collector_is_settled_after_start_up(settings: Settings) -> None:
    import gc

    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        assert gc.get_threshold()[0] == GC_FIRST_GENERATION
        assert gc.get_freeze_count() > 0


async def test_a_new_conversation_given_a_purged_ones_id_is_delivered_to_its_own_chat(settings: Settings) -> None:
    # SQLite gives the id of a deleted newest row to the next one. What the delivery knows of a
    # conversation (its case, its chat) is read with its queue, never remembered by id.
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        first = Victim(api, user_id=7201, language_code="en")
        first.write("/start")
        await first.question()
        async with running.core.sessions.begin() as session:
            (conversation,) = (await session.execute(select(Conversation))).scalars().all()
            purged = conversation.id
            await transcripts.purge(session, conversation)
        second = Victim(api, user_id=7202, language_code="en")
        second.write("/start")
        await second.question()
        async with running.core.sessions() as session:
            (reused,) = (await session.execute(select(Conversation.id))).scalars().all()
        if running.core.engine.dialect.name == "sqlite":
            assert reused == purged
        assert len(first.texts()) == len(second.texts())
