"""SQLite in the event loop's own thread: the connection SQLAlchemy's aiosqlite dialect drives.

aiosqlite runs every call on a thread of its own: a statement is four trips there and back
(cursor, execute, fetch, close), each a queue, a wake-up of that thread and a wake-up of the
event loop, and a commit one more; about 40 trips a step, which cost more CPU than SQLite's own
work on rows this small. Here the same calls run inline: SQLite answers a statement of Accueil in
microseconds, from the page cache, and with `synchronous=NORMAL` in WAL mode a commit does not
wait for the disk.

What must not happen in the loop's thread is waiting. SQLite's busy handler sleeps while another
connection holds the write lock, and in one thread that other connection could never finish:
`busy_timeout` is 0 here, and a statement or commit that finds the database busy is tried again
after an `asyncio.sleep`, which lets the holder finish, for up to `BUSY_TIMEOUT` seconds like the
old busy timeout. Retrying is sound: the sqlite3 module begins a transaction just before its
first write, so a write refused as busy held no snapshot and nothing of it was applied (SQLite
drops the read lock of a transaction that had none before the statement).

What does block the loop: a checkpoint's `fsync` (after a handoff and when the WAL reaches its
size limit) and a purge of many rows, each some milliseconds on an ordinary disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

#: How long a statement waits for another connection's write transaction, in seconds.
BUSY_TIMEOUT = 30.0
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.02


async def _patiently(call: Any, *args: Any) -> Any:
    """`call(*args)`, tried again while SQLite answers that the database is busy."""
    pause = _FIRST_PAUSE
    waited = 0.0
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= BUSY_TIMEOUT:
                raise
        await asyncio.sleep(pause)
        waited += pause
        pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """aiosqlite's cursor, inline: the methods SQLAlchemy awaits."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await _patiently(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(parameters)  # an iterator would be used up by a first, busy, try
        await _patiently(self._cursor.executemany, sql, rows)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class Connection:
    """aiosqlite's connection, inline: what SQLAlchemy's adapter and the pool's reset use."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        #: aiosqlite's name for "still open", which the adapter checks before a commit or rollback.
        self._connection: sqlite3.Connection | None = connection

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate); closing twice does nothing."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value


async def connect(path: str) -> Connection:
    """A connection to the database file at `path` (or ":memory:"), with no busy handler."""
    connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
    return Connection(connection)
