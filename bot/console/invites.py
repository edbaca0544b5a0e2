"""One-time enrolment links to the console (`accueil staff invite`).

The link carries a random token; the database keeps only its SHA-256, so a copy of the database
enrols nobody. A link works once, for 24 hours, and only while its staff member is on the team.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Staff, StaffInvite

VALIDITY = timedelta(hours=24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enrol_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/console/enrol/{token}"


async def create(session: AsyncSession, staff_id: int, now: datetime) -> str:
    """A new one-time token for `staff_id` (earlier links of theirs still unused stop working)."""
    await session.execute(
        update(StaffInvite)
        .where(StaffInvite.staff_id == staff_id, StaffInvite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    session.add(StaffInvite(token_hash=token_hash(token), staff_id=staff_id, created_at=now, expires_at=now + VALIDITY))
    await session.flush()
    return token


async def pending(session: AsyncSession, token: str, now: datetime) -> Staff | None:
    """Whose link this is, while it is unused, in time, and its staff member on the team."""
    if not token or len(token) > 100:
        return None
    invite = await session.get(StaffInvite, token_hash(token))
    if invite is None or invite.used_at is not None or _aware(invite.expires_at, now) <= now:
        return None
    member = await session.get(Staff, invite.staff_id)
    if member is None or member.removed_at is not None:
        return None
    return member


async def use(session: AsyncSession, token: str, now: datetime) -> bool:
    """Spend the link: exactly one of several simultaneous enrolments with it succeeds."""
    result = await session.execute(
        update(StaffInvite)
        .where(StaffInvite.token_hash == token_hash(token), StaffInvite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _aware(moment: datetime, now: datetime) -> datetime:
    """SQLite gives back naive datetimes: read them in `now`'s zone (UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)
