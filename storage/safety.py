"""Repository functions for blocked users, the daily cap of conversations and parked updates.

Each takes the session; none commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BlockedUser, Conversation, ParkedUpdate


async def blocked_case(session: AsyncSession, channel: str, user_ref: str) -> str | None:
    """The case a user was blocked by, or None if they are not blocked."""
    blocked = await session.get(BlockedUser, (channel, user_ref))
    return None if blocked is None else blocked.public_id


async def block(session: AsyncSession, conversation: Conversation, now: datetime) -> bool:
    """Block the user of `conversation`; False if they already were."""
    if await session.get(BlockedUser, (conversation.channel, conversation.user_ref)) is not None:
        return False
    session.add(
        BlockedUser(
            channel=conversation.channel,
            user_ref=conversation.user_ref,
            public_id=conversation.public_id,
            blocked_at=now,
        )
    )
    await session.flush()
    return True


async def unblock(session: AsyncSession, conversation: Conversation) -> bool:
    """Unblock the user of `conversation`; False if they were not blocked."""
    result = await session.execute(
        delete(BlockedUser).where(
            BlockedUser.channel == conversation.channel, BlockedUser.user_ref == conversation.user_ref
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def opened_since(session: AsyncSession, channel: str, user_ref: str, since: datetime) -> int:
    """How many conversations the user opened since `since`."""
    count = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.channel == channel, Conversation.user_ref == user_ref, Conversation.created_at >= since)
    )
    return int(count or 0)


async def parked_for(session: AsyncSession, channel: str, update_key: str) -> ParkedUpdate | None:
    result = await session.execute(
        select(ParkedUpdate).where(ParkedUpdate.channel == channel, ParkedUpdate.update_key == update_key)
    )
    return result.scalar_one_or_none()


async def park(session: AsyncSession, parked: ParkedUpdate) -> ParkedUpdate:
    session.add(parked)
    await session.flush()
    return parked


async def parked(session: AsyncSession, refs: Sequence[str] = ()) -> Sequence[ParkedUpdate]:
    """Parked updates, oldest first; only those named by `refs` if any are given."""
    query = select(ParkedUpdate).order_by(ParkedUpdate.id)
    if refs:
        query = query.where(ParkedUpdate.ref.in_([ref.upper() for ref in refs]))
    return (await session.execute(query)).scalars().all()


async def unpark(session: AsyncSession, parked_id: int) -> None:
    await session.execute(delete(ParkedUpdate).where(ParkedUpdate.id == parked_id))
