"""SQLite in the event loop's thread (storage/sqlite_inline.py): a writer that finds the database busy
waits without blocking the loop, goes on once the other transaction ends, and gives up after the busy
timeout; no thread is started; a WAL checkpoint held up by a reader is tried again."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import db, sqlite_inline


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(db.sqlite_url(tmp_path))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE said (who TEXT, n INTEGER)"))
    yield engine
    await engine.dispose()


class Ticker:
    """Counts the event loop's turns while it runs: a blocked loop does not count."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()


async def test_a_busy_writer_waits_without_blocking_the_loop_then_writes(engine: AsyncEngine) -> None:
    threads = threading.active_count()
    first_wrote, let_go = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def holder() -> None:
        async with AsyncSession(engine) as session:
            await session.execute(text("INSERT INTO said VALUES ('first', 1)"))  # takes the write lock
            first_wrote.set()
            await let_go.wait()
            await session.commit()
            order.append("first committed")

    async def second() -> None:
        await first_wrote.wait()
        async with AsyncSession(engine) as session:
            await session.execute(text("INSERT INTO said VALUES ('second', 2)"))  # busy until the first commits
            order.append("second wrote")
            await session.commit()

    ticker = Ticker()
    tasks = [asyncio.create_task(holder()), asyncio.create_task(second())]
    await first_wrote.wait()
    ticks = ticker.ticks
    await asyncio.sleep(0.3)  # the second writer is waiting all this time
    assert ticker.ticks - ticks >= 10, "the event loop was blocked while a writer waited"
    assert order == []
    let_go.set()
    await asyncio.gather(*tasks)
    ticker.stop()
    assert order == ["first committed", "second wrote"]
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT who FROM said ORDER BY n"))).scalars().all()
    assert rows == ["first", "second"]
    assert threading.active_count() == threads, "the driver started a thread"


async def test_a_writer_gives_up_after_the_busy_timeout(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT", 0.2)
    async with AsyncSession(engine) as holder, AsyncSession(engine) as other:
        await holder.execute(text("INSERT INTO said VALUES ('first', 1)"))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(OperationalError, match="database is locked") as caught:
            await other.execute(text("INSERT INTO said VALUES ('second', 2)"))
        assert 0.2 <= loop.time() - started < 5
        assert isinstance(caught.value.orig, sqlite3.OperationalError)
        await other.rollback()
        await holder.commit()  # the holder was not disturbed
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM said"))).scalar_one() == 1


async def test_a_checkpoint_held_up_by_a_reader_is_tried_again(engine: AsyncEngine, tmp_path: Path) -> None:
    async with AsyncSession(engine) as session:
        await session.execute(text("INSERT INTO said VALUES ('first', 1)"))
        await session.commit()
    reader = sqlite3.connect(tmp_path / "accueil.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM said").fetchall()  # holds a snapshot: TRUNCATE must wait

    async def release() -> None:
        await asyncio.sleep(0.15)
        reader.rollback()

    ticker = Ticker()
    releasing = asyncio.create_task(release())
    async with AsyncSession(engine) as session:
        completed = await db.checkpoint_wal(session)
    await releasing
    ticker.stop()
    reader.close()
    assert completed
    assert ticker.ticks >= 10, "the event loop was blocked while the checkpoint waited"
    assert (tmp_path / "accueil.db-wal").stat().st_size == 0


async def test_a_checkpoint_that_cannot_complete_says_so(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "CHECKPOINT_PAUSES", (0.01, 0.01))
    async with AsyncSession(engine) as session:
        await session.execute(text("INSERT INTO said VALUES ('first', 1)"))
        await session.commit()
    reader = sqlite3.connect(tmp_path / "accueil.db")
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM said").fetchall()
        async with AsyncSession(engine) as session:
            assert not await db.checkpoint_wal(session)
    finally:
        reader.close()
