"""After a handoff SQLite's WAL is checkpointed with TRUNCATE: the older versions of the intake's working
state (sealed under the server key) are no longer in the database's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.app.settings import Settings
from bot.engine import Msg
from storage import db
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


def _on_disk(database: Path) -> bytes:
    """The database file and its WAL, as a copy of the data directory would have them."""
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_checkpoint_wal_empties_the_wal_and_leaves_no_older_version(tmp_path: Path) -> None:
    database = tmp_path / "data" / "accueil.db"
    engine = db.make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            await session.execute(text("CREATE TABLE t (v BLOB)"))
            await session.execute(text("INSERT INTO t VALUES (:v)"), {"v": b"OLD-VERSION-" * 8})
        async with sessions.begin() as session:
            await session.execute(text("UPDATE t SET v = :v"), {"v": b"NEW-VERSION-" * 8})
        assert b"OLD-VERSION-" * 8 in _on_disk(database)  # the older version is still in the WAL
        async with sessions() as session:
            assert await db.checkpoint_wal(session) is True
        assert database.with_name("accueil.db-wal").stat().st_size == 0
        on_disk = _on_disk(database)
        assert b"OLD-VERSION-" not in on_disk and b"NEW-VERSION-" * 8 in on_disk
    finally:
        await engine.dispose()


async def test_after_a_handoff_no_older_working_state_is_left_in_the_database_files(settings: Settings) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps no WAL file beside the database")
    database = settings.data_dir / "accueil.db"
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        catalogs = running.core.content.catalogs
        victim = Victim(api, user_id=7501, language_code="en")

        async def state() -> bytes:
            async with running.core.sessions() as session:
                sealed = (await session.execute(select(Conversation.state_sealed))).scalar_one()
            assert sealed is not None
            return bytes(sealed)

        victim.write("/start")
        asked = await victim.question()
        older = [await state()]
        victim.press(asked, "English")
        asked = await victim.question()
        older.append(await state())
        assert all(blob in _on_disk(database) for blob in older)  # without a checkpoint they linger

        victim.press(asked, catalogs.render("en", Msg("common.human")))
        await api.wait_for_bot_message(victim.user_id, lambda m: m.text == catalogs.render("en", Msg("handoff.open")))
        current = await state()
        on_disk = _on_disk(database)
        assert current not in older
        assert [blob in on_disk for blob in older] == [False] * len(older)
