"""Repository functions. Each takes the session; none commits."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import prepared
from storage.models import Conversation, InboundMessage, OutboxMessage, Staff
from storage.queued import execute_core, queued

VICTIM = "victim"
GROUP = "group"
#: `session.info` key: rows loaded ahead of their use, held for the session's life.
_HELD = "accueil.held"
#: `session.info` key: who a user is (blocked by which case, staff under which id), looked up once a session.
_WHO = "accueil.who"


def staff_destination(staff_id: int) -> str:
    return f"staff:{staff_id}"


_CASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_public_id() -> str:
    """A case reference like ``K7QM-2XPA``: random, easy to read out on the phone."""
    chars = "".join(secrets.choice(_CASE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


async def claim_update(session: AsyncSession, channel: str, update_key: str, now: datetime) -> bool:
    """Record that an update is being applied; False if it already was.

    One INSERT that does nothing on a duplicate, rather than a savepoint: the claim is part of the
    update's transaction, and goes if it rolls back."""
    statement = prepared.CLAIM_UPDATE[session.get_bind().dialect.name]
    result = await execute_core(session, statement, {"p_channel": channel, "p_key": update_key, "p_now": now})
    return bool(getattr(result, "rowcount", 0) == 1)


async def open_conversation(session: AsyncSession, channel: str, user_ref: str) -> Conversation | None:
    """The user's conversation that has not ended, if any (newest first).

    Its transcript's state comes in the same statement and is held for the session's life, so the
    transcript writer finds it in the session (`session.get`) instead of reading it again."""
    result = await session.execute(prepared.OPEN_CONVERSATION, {"p_channel": channel, "p_user_ref": user_ref})
    row = result.one_or_none()
    if row is None:
        return None
    conversation, transcript = row
    if transcript is not None:
        session.info.setdefault(_HELD, []).append(transcript)  # the session's identity map holds it weakly
    return conversation


async def latest_conversation(session: AsyncSession, channel: str, user_ref: str) -> Conversation | None:
    result = await session.execute(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.user_ref == user_ref)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def add_conversation(session: AsyncSession, conversation: Conversation) -> Conversation:
    session.add(conversation)
    await session.flush()
    return conversation


async def enqueue(
    session: AsyncSession,
    conversation_id: int,
    kind: str,
    payload: bytes,
    turn: int | None,
    now: datetime,
    destination: str = VICTIM,
) -> None:
    """Queue a message in the session's transaction.

    It is written, with the update's other messages, in one statement just before the session's
    next statement or its commit (`queue.write_queued`): never later than it would have been as an
    ORM object, and ids, hence each queue's order, follow the order of the calls."""
    queued(session.sync_session).append(
        {
            "conversation_id": conversation_id,
            "destination": destination,
            "kind": kind,
            "turn": turn,
            "payload_sealed": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
    )


async def pending_for(session: AsyncSession, conversation_id: int) -> Sequence[OutboxMessage]:
    result = await session.execute(prepared.PENDING_FOR, {"p_conversation_id": conversation_id})
    return result.scalars().all()


async def pending_with_address(
    session: AsyncSession, conversation_id: int
) -> tuple[Conversation | None, Sequence[OutboxMessage]]:
    """A conversation's messages still to send, in order, and (when there are some) the conversation as
    the delivery needs it, read in the same statement: a detached `Conversation` with only its id, case,
    sealed chat and channel set (never added to the session)."""
    result = await session.execute(prepared.PENDING_WITH_ADDRESS, {"p_conversation_id": conversation_id})
    rows = result.all()
    if not rows:
        return None, []
    _, public_id, chat_sealed, channel = rows[0]
    address = Conversation(id=conversation_id, public_id=public_id, chat_sealed=chat_sealed, channel=channel)
    return address, [row[0] for row in rows]


async def conversations_with_due_messages(session: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    result = await session.execute(
        select(OutboxMessage.conversation_id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .group_by(OutboxMessage.conversation_id)
        .limit(limit)
    )
    return [row[0] for row in result.all()]


async def sent_question(session: AsyncSession, conversation_id: int, turn: int) -> str | None:
    """The channel's id of the sent message that asked the question of `turn` (to edit its keyboard).

    The column, not the row: a row already in the session (sent in this session, with `mark_sent`
    not touching the objects in memory) would come back as it was before it was sent."""
    result = await execute_core(session, prepared.SENT_QUESTION, {"p_conversation_id": conversation_id, "p_turn": turn})
    ref: str | None = result.scalar_one_or_none()
    return ref


async def mark_sent(session: AsyncSession, message_id: int, message_ref: str | None, now: datetime) -> None:
    """One UPDATE, and nothing else (`prepared.MARK_SENT`)."""
    await execute_core(session, prepared.MARK_SENT, {"p_id": message_id, "p_now": now, "p_ref": message_ref})


async def mark_retry(session: AsyncSession, message_id: int, attempts: int, at: datetime) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(attempts=attempts, next_attempt_at=at)
    )


async def drop_pending(session: AsyncSession, conversation_id: int, destination: str = VICTIM) -> None:
    """Give up on everything queued for a chat that can no longer be reached."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.conversation_id == conversation_id,
            OutboxMessage.destination == destination,
            OutboxMessage.status == "pending",
        )
        .values(status="dropped", payload_sealed=None)
    )


async def set_aside(session: AsyncSession, message_id: int, reason: str) -> None:
    """Keep a message the channel refused for good, sealed, out of its queue, with the reason."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(status="refused", failure=reason[:300])
    )


async def set_aside_messages(session: AsyncSession, ids: Sequence[int] = ()) -> Sequence[OutboxMessage]:
    """The messages set aside (those of `ids` only, when given), oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.status == "refused").order_by(OutboxMessage.id)
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    return (await session.execute(query)).scalars().all()


async def requeue(session: AsyncSession, message_id: int, now: datetime) -> None:
    """Put a message set aside back at its place in its queue (it is older than what followed it)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "refused")
        .values(status="pending", failure=None, attempts=0, next_attempt_at=now)
    )


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 5 minutes."""
    return timedelta(seconds=min(300, 2 ** max(0, attempts - 1)))


async def record_inbound(session: AsyncSession, conversation_id: int, message_ref: str, at: datetime) -> None:
    session.add(InboundMessage(conversation_id=conversation_id, message_ref=message_ref, received_at=at))


async def erasable_messages(session: AsyncSession, conversation_id: int, since: datetime) -> list[str]:
    """Ids of every message of the conversation, both sides, sent since `since`, oldest first."""
    sent = await session.execute(
        select(OutboxMessage.message_ref, OutboxMessage.sent_at).where(
            OutboxMessage.conversation_id == conversation_id,
            OutboxMessage.destination == VICTIM,
            OutboxMessage.status == "sent",
            OutboxMessage.message_ref.is_not(None),
            OutboxMessage.sent_at >= since,
        )
    )
    received = await session.execute(
        select(InboundMessage.message_ref, InboundMessage.received_at).where(
            InboundMessage.conversation_id == conversation_id, InboundMessage.received_at >= since
        )
    )
    refs = {str(ref) for ref, _ in [*sent.all(), *received.all()] if ref is not None}
    return sorted(refs, key=lambda ref: int(ref) if ref.isdigit() else 0)


async def sent_refs(session: AsyncSession, conversation_id: int, destination: str, kind: str) -> list[str]:
    """The channel ids of the messages of `kind` sent to `destination` about a conversation."""
    result = await session.execute(
        select(OutboxMessage.message_ref)
        .where(
            OutboxMessage.conversation_id == conversation_id,
            OutboxMessage.destination == destination,
            OutboxMessage.kind == kind,
            OutboxMessage.status == "sent",
            OutboxMessage.message_ref.is_not(None),
        )
        .order_by(OutboxMessage.id)
    )
    return [str(ref) for ref in result.scalars().all()]


async def conversation_of_sent(session: AsyncSession, destination: str, message_ref: str) -> int | None:
    """Which conversation a message sent to `destination` was about (a staff reply's target)."""
    result = await session.execute(
        select(OutboxMessage.conversation_id)
        .where(
            OutboxMessage.destination == destination,
            OutboxMessage.message_ref == message_ref,
            OutboxMessage.status == "sent",
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


# --- staff -----------------------------------------------------------------------


async def find_staff(session: AsyncSession, channel: str, user_ref: str) -> Staff | None:
    result = await session.execute(
        select(Staff).where(Staff.channel == channel, Staff.user_ref == user_ref, Staff.removed_at.is_(None)).limit(1)
    )
    return result.scalar_one_or_none()


async def who(session: AsyncSession, channel: str, user_ref: str) -> tuple[str | None, int | None]:
    """The case a user was blocked by (or None) and their active staff id (or None), in one statement,
    remembered for the rest of the session (an update asks both, first the guard, then the service)."""
    known: dict[tuple[str, str], tuple[str | None, int | None]] = session.info.setdefault(_WHO, {})
    if (channel, user_ref) not in known:
        row: Any = (await execute_core(session, prepared.WHO, {"p_channel": channel, "p_user_ref": user_ref})).one()
        known[(channel, user_ref)] = (row[0], row[1])
    return known[(channel, user_ref)]


async def active_staff_member(session: AsyncSession, channel: str, user_ref: str) -> Staff | None:
    """`find_staff` for an update: most people are not staff, and `who` tells so without loading a row."""
    _, staff_id = await who(session, channel, user_ref)
    return None if staff_id is None else await session.get(Staff, staff_id)


async def active_staff(session: AsyncSession, role: str | None = None) -> Sequence[Staff]:
    query = select(Staff).where(Staff.removed_at.is_(None)).order_by(Staff.id)
    if role is not None:
        query = query.where(Staff.role == role)
    return (await session.execute(query)).scalars().all()


# --- the case queue ------------------------------------------------------------------


async def by_public_id(session: AsyncSession, public_id: str) -> Conversation | None:
    result = await session.execute(select(Conversation).where(Conversation.public_id == public_id.upper()))
    return result.scalar_one_or_none()


async def claim_case(session: AsyncSession, conversation_id: int, staff_id: int, now: datetime) -> bool:
    """Give a queued case to one caseworker. Exactly one of many simultaneous claims succeeds:
    the condition on the status is checked by the database in the same statement that changes it."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.case_status == "queued")
        .values(case_status="claimed", caseworker_id=staff_id, claimed_at=now, announced_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def cases_to_announce(
    session: AsyncSession, now: datetime, every: timedelta, urgent_every: timedelta
) -> Sequence[Conversation]:
    """Queued cases never announced, or not announced for a while (urgent ones sooner)."""
    result = await session.execute(
        select(Conversation)
        .where(
            Conversation.case_status == "queued",
            (Conversation.announced_at.is_(None))
            | ((Conversation.urgent.is_(True)) & (Conversation.announced_at <= now - urgent_every))
            | (Conversation.announced_at <= now - every),
        )
        .order_by(Conversation.urgent.desc(), Conversation.queued_at)
        .limit(100)
    )
    return result.scalars().all()


async def open_cases(session: AsyncSession, staff_id: int | None = None) -> Sequence[Conversation]:
    """Cases not closed: all of them, or those a staff member works on."""
    query = select(Conversation).where(Conversation.case_status.in_(("queued", "claimed", "active")))
    if staff_id is not None:
        query = query.where((Conversation.caseworker_id == staff_id) | (Conversation.interpreter_id == staff_id))
    result = await session.execute(query.order_by(Conversation.urgent.desc(), Conversation.queued_at))
    return result.scalars().all()


# --- short server-readable windows -------------------------------------------------


async def drop_pending_to(session: AsyncSession, destination: str) -> int:
    """Give up on everything queued for one chat, about any case (a removed staff member's), set-aside
    messages included: none of it can be sent or replayed any more."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.destination == destination, OutboxMessage.status.in_(("pending", "refused")))
        .values(status="dropped", payload_sealed=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def keep_summary_while_queued(session: AsyncSession, conversation_id: int, sealed: bytes) -> bool:
    """Replace a case's sealed summary, only if the case still waits (checked in the same statement)."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.case_status == "queued")
        .values(summary_sealed=sealed)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def abandoned_intakes(session: AsyncSession, before: datetime, limit: int = 500) -> Sequence[Conversation]:
    """Intakes still running whose last step is older than `before`."""
    result = await session.execute(
        select(Conversation)
        .where(Conversation.status == "intake", Conversation.updated_at < before)
        .order_by(Conversation.id)
        .limit(limit)
    )
    return result.scalars().all()
