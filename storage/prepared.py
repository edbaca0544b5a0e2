"""The statements every update and every delivery runs, built once with named parameters.

Building a SQLAlchemy statement (`select(...).where(...)`) costs more CPU than
SQLite takes to run it; these are built at import and executed with their
parameters (`repo` uses them). Names of parameters start with `p_` (a name of a
column is reserved in the SET or VALUES clause).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import (
    BlockedUser,
    Conversation,
    OutboxMessage,
    ProcessedUpdate,
    Staff,
    Transcript,
    TranscriptEpoch,
)

VICTIM = "victim"

#: A user's conversation that has not ended (newest first), with its transcript's state.
OPEN_CONVERSATION = (
    select(Conversation, Transcript)
    .outerjoin(Transcript, Transcript.conversation_id == Conversation.id)
    .where(
        Conversation.channel == bindparam("p_channel"),
        Conversation.user_ref == bindparam("p_user_ref"),
        Conversation.status.in_(("intake", "handoff")),
    )
    .order_by(Conversation.id.desc())
    .limit(1)
)

#: The case a user was blocked by, and their active staff id (each NULL when none).
WHO = select(
    select(BlockedUser.public_id)
    .where(BlockedUser.channel == bindparam("p_channel"), BlockedUser.user_ref == bindparam("p_user_ref"))
    .scalar_subquery(),
    select(Staff.id)
    .where(
        Staff.channel == bindparam("p_channel"),
        Staff.user_ref == bindparam("p_user_ref"),
        Staff.removed_at.is_(None),
    )
    .order_by(Staff.id)
    .limit(1)
    .scalar_subquery(),
)

#: A conversation's messages still to send, in order.
PENDING_FOR = (
    select(OutboxMessage)
    .where(OutboxMessage.conversation_id == bindparam("p_conversation_id"), OutboxMessage.status == "pending")
    .order_by(OutboxMessage.id)
)

#: The same, each with its conversation's case and sealed chat (what the delivery needs of it).
PENDING_WITH_ADDRESS = (
    select(OutboxMessage, Conversation.public_id, Conversation.chat_sealed, Conversation.channel)
    .join(Conversation, Conversation.id == OutboxMessage.conversation_id)
    .where(OutboxMessage.conversation_id == bindparam("p_conversation_id"), OutboxMessage.status == "pending")
    .order_by(OutboxMessage.id)
)

#: The channel's id of the newest sent message that asked the question of a turn.
SENT_QUESTION = (
    select(OutboxMessage.message_ref)
    .where(
        OutboxMessage.conversation_id == bindparam("p_conversation_id"),
        OutboxMessage.destination == VICTIM,
        OutboxMessage.kind == "message",
        OutboxMessage.turn == bindparam("p_turn"),
        OutboxMessage.status == "sent",
    )
    .order_by(OutboxMessage.id.desc())
    .limit(1)
)

#: A message delivered: sent, its channel id kept, its payload gone. The rows in the session's memory
#: are left as they were read (the ORM would otherwise look through them all on every message sent).
MARK_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("p_id"))
    .values(status="sent", sent_at=bindparam("p_now"), message_ref=bindparam("p_ref"), payload_sealed=None)
    .execution_options(synchronize_session=False)
)

_CLAIM: dict[str, Any] = {
    "channel": bindparam("p_channel"),
    "update_key": bindparam("p_key"),
    "handled_at": bindparam("p_now"),
}
#: An update recorded as being applied; nothing (no row counted) when it already was. By dialect.
CLAIM_UPDATE = {
    "postgresql": postgresql_insert(ProcessedUpdate).values(_CLAIM).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(ProcessedUpdate).values(_CLAIM).on_conflict_do_nothing(),
}

#: A case's newest epoch: what sealing to it needs (its number, public key and binding tag).
CURRENT_EPOCH = (
    select(TranscriptEpoch.epoch, TranscriptEpoch.public_key, TranscriptEpoch.binding)
    .where(TranscriptEpoch.conversation_id == bindparam("p_conversation_id"))
    .order_by(TranscriptEpoch.epoch.desc())
    .limit(1)
)
