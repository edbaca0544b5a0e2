"""Messages the channel refused for good: set aside, kept, and replayable.

A message the Bot API refuses for a reason that will not pass by itself (a bad
request, a method or chat not found, too large) is not retried forever, which
would hold back everything queued behind it for that chat. It is set aside:
kept sealed in the outbox with status `refused` and the reason; the case's
transcript records that a message was not delivered; the operator gets one log
line (the case, the reason, the command to replay; never the message's text);
and the queue behind it moves on. Once the cause is fixed (a Bot API server
upgraded, a staff chat id corrected), `accueil outbox replay ID` puts it back in
its queue, where it is sent before anything queued after it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import ConfigError, Refused
from bot.transcript.writer import Entry, TranscriptWriter
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation, OutboxMessage

log = logging.getLogger("accueil.outbox")

NOT_DELIVERED = "a message could not be delivered (refused by the messaging service); it is kept for the operator"


def whose(destination: str) -> str:
    if destination == repo.GROUP:
        return "the staff group"
    if destination.startswith("staff:"):
        return f"staff member {destination.partition(':')[2]}"
    return "the person"


async def set_aside(
    session: AsyncSession,
    keys: ServerKey,
    conversation: Conversation,
    message: OutboxMessage,
    refused: Refused,
    now: datetime,
) -> None:
    """Set `message` aside with the reason, record it with the case, and tell the operator."""
    await repo.set_aside(session, message.id, refused.reason)
    event = Entry("system", now.isoformat(), "event", text=f"{NOT_DELIVERED} (to {whose(message.destination)})")
    await TranscriptWriter(keys).append(session, conversation, [event])
    await session.commit()
    log.error(
        "a %s to %s was refused for good and set aside as %d (%s); fix the cause, then run `accueil outbox replay %d`",
        message.kind,
        whose(message.destination),
        message.id,
        refused.reason,
        message.id,
        extra={"case": conversation.public_id},
    )


async def listing(sessions: async_sessionmaker[AsyncSession]) -> str:
    """The messages set aside: id, when queued, case, kind, to whom, why (never their text)."""
    async with sessions() as session:
        rows = await repo.set_aside_messages(session)
        cases = {row.conversation_id: await _case(session, row.conversation_id) for row in rows}
    if not rows:
        return "no message set aside"
    lines = [f"{'id':>8}  {'queued':<16}  {'case':<10}  {'kind':<8}  {'to':<16}  reason"]
    for row in rows:
        lines.append(
            f"{row.id:>8}  {row.created_at:%Y-%m-%d %H:%M}  {cases[row.conversation_id]:<10}  {row.kind:<8}  "
            f"{whose(row.destination):<16}  {row.failure or '-'}"
        )
    return "\n".join(lines)


async def replay(sessions: async_sessionmaker[AsyncSession], ids: Sequence[int], now: datetime) -> str:
    """Put messages set aside (all, or those named) back in their queues; the running bot sends them."""
    async with sessions.begin() as session:
        rows = await repo.set_aside_messages(session, ids)
        missing = set(ids) - {row.id for row in rows}
        if missing:
            raise ConfigError(
                f"no message set aside with id {', '.join(map(str, sorted(missing)))}; `accueil outbox list` shows them"
            )
        for row in rows:
            await repo.requeue(session, row.id, now)
    if not rows:
        return "no message set aside"
    return f"{len(rows)} message(s) back in their queue; the running bot sends them within a few seconds"


async def _case(session: AsyncSession, conversation_id: int) -> str:
    conversation = await session.get(Conversation, conversation_id)
    return conversation.public_id if conversation is not None else "-"
