"""Repository functions for recipient keys and transcripts. Each takes the session; none commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, RecipientKey, Transcript, TranscriptEntry, TranscriptKey


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


async def add_recipient(session: AsyncSession, key_id: str, label: str, public_key: bytes, now: datetime) -> None:
    session.add(RecipientKey(key_id=key_id, label=label, public_key=public_key, created_at=now))
    await session.flush()


async def revoke_recipient(session: AsyncSession, key_id: str, now: datetime) -> int:
    """Mark the key revoked and destroy every chain key wrapped to it; returns how many."""
    await session.execute(update(RecipientKey).where(RecipientKey.key_id == key_id).values(revoked_at=now))
    result = await session.execute(delete(TranscriptKey).where(TranscriptKey.key_id == key_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def transcript(session: AsyncSession, conversation_id: int) -> Transcript | None:
    return await session.get(Transcript, conversation_id)


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


async def add_entry(session: AsyncSession, conversation_id: int, seq: int, sealed: bytes) -> None:
    session.add(TranscriptEntry(conversation_id=conversation_id, seq=seq, sealed=sealed))


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


async def purge(session: AsyncSession, conversation_id: int) -> None:
    """Destroy a case: its wrapped keys first (crypto-shredding), then everything else."""
    await session.execute(delete(TranscriptKey).where(TranscriptKey.conversation_id == conversation_id))
    await session.execute(delete(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation_id))
    await session.execute(delete(Transcript).where(Transcript.conversation_id == conversation_id))
    await session.execute(delete(Conversation).where(Conversation.id == conversation_id))
