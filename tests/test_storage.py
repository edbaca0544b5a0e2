"""The database layer keeps its promises on both engines: a transaction is all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from storage import repo
from storage.db import make_engine, session_factory, upgrade
from storage.models import ProcessedUpdate


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
