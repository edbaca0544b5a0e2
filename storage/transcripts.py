"""Repository functions for recipient keys and transcripts. Each takes the session; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import prepared
from storage.models import (
    Conversation,
    ParkedUpdate,
    RecipientKey,
    Transcript,
    TranscriptEntry,
    TranscriptEpoch,
    TranscriptEpochKey,
    TranscriptKey,
)
from storage.queued import execute_core


async def active_recipients(session: AsyncSession) -> Sequence[RecipientKey]:
    result = await session.execute(
        select(RecipientKey).where(RecipientKey.revoked_at.is_(None)).order_by(RecipientKey.created_at)
    )
    return result.scalars().all()


async def all_recipients(session: AsyncSession) -> Sequence[RecipientKey]:
    result = await session.execute(select(RecipientKey).order_by(RecipientKey.created_at))
    return result.scalars().all()


async def recipient(session: AsyncSession, key_id: str) -> RecipientKey | None:
    return await session.get(RecipientKey, key_id)


async def add_recipient(
    session: AsyncSession, key_id: str, label: str, public_key: bytes, now: datetime, certificate: str | None = None
) -> None:
    session.add(
        RecipientKey(key_id=key_id, label=label, public_key=public_key, created_at=now, certificate=certificate)
    )
    await session.flush()


async def certify_recipient(session: AsyncSession, key_id: str, certificate: str) -> bool:
    """Store the association's certificate of a registered key; False if the key is not registered."""
    result = await session.execute(
        update(RecipientKey).where(RecipientKey.key_id == key_id).values(certificate=certificate)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_recipient(session: AsyncSession, key_id: str, now: datetime) -> int:
    """Mark the key revoked and destroy every case key wrapped to it; returns how many."""
    await session.execute(update(RecipientKey).where(RecipientKey.key_id == key_id).values(revoked_at=now))
    v1 = await session.execute(delete(TranscriptKey).where(TranscriptKey.key_id == key_id))
    v2 = await session.execute(delete(TranscriptEpochKey).where(TranscriptEpochKey.key_id == key_id))
    return int(v1.rowcount or 0) + int(v2.rowcount or 0)  # type: ignore[attr-defined]


async def transcript(session: AsyncSession, conversation_id: int) -> Transcript | None:
    return await session.get(Transcript, conversation_id)


async def unsealed_heads(session: AsyncSession) -> Sequence[tuple[Transcript, str]]:
    """Transcripts whose head carries no MAC (written before heads had one), with their case id."""
    result = await session.execute(
        select(Transcript, Conversation.public_id)
        .join(Conversation, Conversation.id == Transcript.conversation_id)
        .where(Transcript.head_mac.is_(None))
    )
    return [(state, public_id) for state, public_id in result.all()]


async def wrapped_keys(session: AsyncSession, conversation_id: int) -> dict[str, bytes]:
    result = await session.execute(
        select(TranscriptKey.key_id, TranscriptKey.wrapped).where(TranscriptKey.conversation_id == conversation_id)
    )
    return {key_id: wrapped for key_id, wrapped in result.all()}


async def add_wrapped_key(session: AsyncSession, conversation_id: int, key_id: str, wrapped: bytes) -> None:
    session.add(TranscriptKey(conversation_id=conversation_id, key_id=key_id, wrapped=wrapped))
    await session.flush()


async def conversations_wrapped_to(session: AsyncSession, key_id: str) -> Sequence[Conversation]:
    result = await session.execute(
        select(Conversation)
        .join(TranscriptKey, TranscriptKey.conversation_id == Conversation.id)
        .where(TranscriptKey.key_id == key_id)
        .order_by(Conversation.id)
    )
    return result.scalars().all()


async def add_entry(session: AsyncSession, conversation_id: int, seq: int, sealed: bytes, epoch: int = 0) -> None:
    session.add(TranscriptEntry(conversation_id=conversation_id, seq=seq, epoch=epoch, sealed=sealed))


@dataclass(frozen=True, slots=True)
class EpochKey:
    """What sealing to an epoch needs: its number, its public key and the shred key's tag over it."""

    epoch: int
    public_key: bytes
    binding: bytes

    @classmethod
    def of(cls, row: TranscriptEpoch) -> EpochKey:
        return cls(row.epoch, row.public_key, row.binding)


async def current_epoch(session: AsyncSession, conversation_id: int) -> EpochKey | None:
    """The case's newest epoch (a Core read: every entry written asks for it)."""
    result = await execute_core(session, prepared.CURRENT_EPOCH, {"p_conversation_id": conversation_id})
    row = result.one_or_none()
    return None if row is None else EpochKey(row.epoch, row.public_key, row.binding)


async def epochs(session: AsyncSession, conversation_id: int) -> dict[int, TranscriptEpoch]:
    result = await session.execute(select(TranscriptEpoch).where(TranscriptEpoch.conversation_id == conversation_id))
    return {row.epoch: row for row in result.scalars().all()}


async def add_epoch(
    session: AsyncSession, conversation_id: int, epoch: int, public_key: bytes, binding: bytes, now: datetime
) -> TranscriptEpoch:
    row = TranscriptEpoch(
        conversation_id=conversation_id, epoch=epoch, public_key=public_key, binding=binding, created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def epoch_wraps(session: AsyncSession, conversation_id: int) -> dict[tuple[int, str], bytes]:
    """Every wrapped epoch key of a case, by (epoch, key id)."""
    result = await session.execute(
        select(TranscriptEpochKey.epoch, TranscriptEpochKey.key_id, TranscriptEpochKey.wrapped).where(
            TranscriptEpochKey.conversation_id == conversation_id
        )
    )
    return {(epoch, key_id): wrapped for epoch, key_id, wrapped in result.all()}


async def add_epoch_wrap(session: AsyncSession, conversation_id: int, epoch: int, key_id: str, wrapped: bytes) -> None:
    session.add(TranscriptEpochKey(conversation_id=conversation_id, epoch=epoch, key_id=key_id, wrapped=wrapped))
    await session.flush()


async def conversations_with_epochs_for(session: AsyncSession, key_id: str) -> Sequence[Conversation]:
    result = await session.execute(
        select(Conversation)
        .where(
            Conversation.id.in_(select(TranscriptEpochKey.conversation_id).where(TranscriptEpochKey.key_id == key_id))
        )
        .order_by(Conversation.id)
    )
    return result.scalars().all()


async def transcribed_cases(session: AsyncSession) -> Sequence[Conversation]:
    """Every case that has a transcript (the cases a revocation re-keys)."""
    result = await session.execute(
        select(Conversation).join(Transcript, Transcript.conversation_id == Conversation.id).order_by(Conversation.id)
    )
    return result.scalars().all()


async def entries(session: AsyncSession, conversation_id: int) -> Sequence[TranscriptEntry]:
    result = await session.execute(
        select(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation_id).order_by(TranscriptEntry.seq)
    )
    return result.scalars().all()


async def case(session: AsyncSession, public_id: str) -> Conversation | None:
    result = await session.execute(select(Conversation).where(Conversation.public_id == public_id))
    return result.scalar_one_or_none()


async def cases(session: AsyncSession) -> Sequence[Conversation]:
    result = await session.execute(select(Conversation).order_by(Conversation.created_at))
    return result.scalars().all()


async def stale_cases(session: AsyncSession, before: datetime) -> Sequence[Conversation]:
    result = await session.execute(select(Conversation).where(Conversation.updated_at < before))
    return result.scalars().all()


async def purge(session: AsyncSession, conversation: Conversation) -> None:
    """Destroy a case's rows (its shred key is destroyed first, by the caller), parked updates included."""
    conversation_id = conversation.id
    await session.execute(delete(ParkedUpdate).where(ParkedUpdate.public_id == conversation.public_id))
    await session.execute(delete(TranscriptEpochKey).where(TranscriptEpochKey.conversation_id == conversation_id))
    await session.execute(delete(TranscriptEpoch).where(TranscriptEpoch.conversation_id == conversation_id))
    await session.execute(delete(TranscriptKey).where(TranscriptKey.conversation_id == conversation_id))
    await session.execute(delete(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation_id))
    await session.execute(delete(Transcript).where(Transcript.conversation_id == conversation_id))
    await session.execute(delete(Conversation).where(Conversation.id == conversation_id))


async def erase_history(session: AsyncSession) -> bool:
    """After a purge is committed: SQLite's WAL is checkpointed and truncated; False if readers held it."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return True
    row = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    return int(row[0]) == 0
