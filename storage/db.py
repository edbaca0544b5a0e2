"""Engine, sessions and schema migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState

from storage import sqlite_inline
from storage.errors import ConfigError, StorageError
from storage.files import create_private_file, private_directory, private_file

#: Pauses between tries of a WAL checkpoint that other connections hold up (about 5 s in all).
CHECKPOINT_PAUSES = (0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.2, 1.2, 1.2)
MIGRATIONS = Path(__file__).with_name("migrations")
#: What SQLite keeps beside a database file; made private like the database itself.
COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'accueil.db').resolve()}"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL, foreign keys, private files and an inline driver
    (`storage.sqlite_inline`) that waits for a busy database without blocking the event loop."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"ACCUEIL_DATABASE_URL is not a database URL: {exc}") from exc
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigError(
            "ACCUEIL_DATABASE_URL must start with sqlite+aiosqlite:/// or postgresql+asyncpg:// "
            f"(got {parsed.drivername})"
        )
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ":memory:"
        if database != ":memory:":
            _private_database(Path(database))
        engine = create_async_engine(
            url, async_creator=lambda: sqlite_inline.connect(database), pool_reset_on_return=None, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine.pool, "reset", _sqlite_reset)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _private_database(path: Path) -> None:
    """The database's folder 0700 and its files 0600, before SQLite opens them.

    SQLite gives its -wal, -shm and -journal files the mode of the database file, so creating that
    file 0600 (an empty file is an empty database) makes them private too; files left by an older
    version are tightened with chmod, which opens nothing (closing a descriptor of a live database
    file would drop this process's locks on it).
    """
    private_directory(path.parent)
    create_private_file(path)
    for name in (path.name, *(path.name + suffix for suffix in COMPANIONS)):
        private_file(path.with_name(name))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module starts a transaction at the first INSERT/UPDATE/DELETE (reads before it take
    # no lock, so a write waits its turn under busy_timeout instead of failing on a stale snapshot).
    # Hence no SAVEPOINT in this code base: one issued before the first write would open, and on
    # RELEASE commit, a transaction of its own (see `repo.claim_update`).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=0")  # no waiting in the event loop's thread: see storage/sqlite_inline.py
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted (purged) rows are overwritten, not left in free pages
    cursor.close()


async def checkpoint_wal(session: AsyncSession) -> bool:
    """SQLite: move the WAL into the database and truncate it to nothing; whether it completed.

    Called after a handoff, so the older versions of rows sealed under the server key (the
    intake's working state) do not linger in the WAL; `secure_delete` overwrites what the
    checkpoint frees. PostgreSQL keeps no such file beside the database: nothing to do.
    Run it outside a transaction (a fresh session, nothing written in it yet)."""
    if session.get_bind().dialect.name != "sqlite":
        return True
    # No busy handler waits in the event loop's thread (storage/sqlite_inline.py): while other
    # connections read an older snapshot or write, try again after a pause, for a few seconds.
    for pause in CHECKPOINT_PAUSES:
        busy, _log, _done = (await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
        if int(busy) == 0:
            return True
        await asyncio.sleep(pause)
    return False


def _sqlite_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    # A connection going back to the pool is rolled back only if a transaction is still open. The
    # pool's own reset rolls back every time, and a session gives its connection back after each
    # commit: with aiosqlite that is one more trip to the driver's thread for every commit (about
    # four a step), for nothing, since the sqlite3 module opens a transaction only at a write.
    if state.terminate_only or not state.asyncio_safe:
        return  # the connection is closed, not reused (as the pool's own reset would skip it)
    if dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration (`accueil db upgrade`, and at start-up)."""

    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "head")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    except (OSError, OperationalError, DBAPIError) as exc:
        raise StorageError(f"cannot migrate the database at {engine.url.render_as_string()}: {_reason(exc)}") from exc


async def check_current(engine: AsyncEngine) -> None:
    """Refuse to run against a database whose schema is not the latest."""

    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as connection:
            revision = await connection.run_sync(current)
    except (OSError, OperationalError, DBAPIError) as exc:
        raise StorageError(f"cannot reach the database: {_reason(exc)}") from exc
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if revision != head:
        raise StorageError(f"the database is at revision {revision}, expected {head}: run `accueil db upgrade`")


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0]
