"""Outbox rows queued in a session, written together just before the session's next statement.

An update queues two or three messages; as ORM objects each was its own INSERT
(SQLite gives back generated ids one row at a time), as rows queued here they
are one `executemany`. Listeners on every `Session` write what is queued before
any statement the session runs (`do_orm_execute`: queries, `session.get`, Core
statements), before a flush of ORM objects and before the commit, so no
statement of the transaction can miss a queued row and nothing queued outlives
its transaction: a rollback forgets it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, Result, Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from storage.models import OutboxMessage

_KEY = "accueil.queued"
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]  # a mapped class's table is a Table


def queued(session: Session) -> list[dict[str, Any]]:
    """The rows queued in `session` and not written yet (append to queue one)."""
    rows: list[dict[str, Any]] = session.info.setdefault(_KEY, [])
    return rows


def write_queued(session: Session) -> None:
    rows = session.info.get(_KEY)
    if rows:
        session.info[_KEY] = []  # before executing: the insert below runs through this session too
        try:
            # The table, not the class: one executemany (ORM bulk inserts split rows whose None values differ).
            session.execute(insert(_OUTBOX), rows)
        except BaseException:
            session.info[_KEY] = rows + session.info[_KEY]  # still queued, as a failed flush leaves its objects
            raise


async def execute_core(session: AsyncSession, statement: Executable, parameters: dict[str, Any]) -> Result[Any]:
    """A Core statement (no ORM entity in its result) on the session's connection and transaction,
    without the ORM's work around each statement, which on the hot path cost more than SQLite's.
    When rows are queued it goes through the session, whose listener writes them first; ORM
    objects added or changed in the session are not flushed before it, so it is for statements on
    tables the session holds no unflushed objects of (the callers in `repo` and `transcripts`)."""
    if session.sync_session.info.get(_KEY):
        return await session.execute(statement, parameters)
    connection = await session.connection()
    return await connection.execute(statement, parameters)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    write_queued(state.session)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    write_queued(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_queued(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_KEY, None)
