"""The database layer keeps its promises on both engines: a transaction is all or nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app.settings import Settings
from storage import repo
from storage.db import make_engine, session_factory, upgrade
from storage.models import ProcessedUpdate
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


class Abort(Exception):
    pass


async def test_a_claimed_update_is_forgotten_when_its_transaction_rolls_back(database_url: str) -> None:
    # The claim is the first write of an update's transaction. If the rest fails, the update must
    # stay unclaimed, or its re-delivery would be ignored as a duplicate and the message lost.
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        with pytest.raises(Abort):
            async with sessions.begin() as session:
                await session.execute(select(ProcessedUpdate))  # a read first, as the service does
                assert await repo.claim_update(session, "telegram", "41", now)
                raise Abort
        async with sessions() as session:
            count = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        assert count == 0
        async with sessions.begin() as session:
            assert await repo.claim_update(session, "telegram", "41", now)
        async with sessions.begin() as session:
            assert not await repo.claim_update(session, "telegram", "41", now)
    finally:
        await engine.dispose()


async def test_people_writing_at_the_same_time_never_find_the_database_busy(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Updates of different chats are applied at once. Reads take no lock and a write waits its turn,
    # so none of them fails and is retried, and no reply goes out twice.
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        people = [Victim(api, user_id=6000 + n, language_code="en") for n in range(10)]

        async def walk(person: Victim) -> None:
            await person.start()
            await person.answer("No")
            await person.answer("Yes")
            await person.question()

        await asyncio.gather(*(walk(person) for person in people))
        await api.wait_updates_consumed()
    assert not [r for r in caplog.records if "database unavailable" in r.getMessage()]
    for person in people:
        texts = person.texts()
        assert len(texts) == len(set(texts)), texts
