"""Resume codes: a short code the person writes down at the end of the intake, to come back later.

Only the code's keyed pseudonym is stored, with the chat it leads back to
sealed under the server key and an expiry; the code is shown once and never
again. Typing it in a new page attaches that page to the conversation, and
what waited in the outbox for the person is delivered.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import SealError
from storage import repo
from storage.crypto import ServerKey
from storage.models import OutboxMessage, WebResume
from storage.sealed import Sealed

#: No 0/O, 1/I/L: easy to copy by hand and to read out.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8
VALID_FOR = timedelta(days=30)
#: Wrong codes one page may try.
TRIES = 5


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalized(code: str) -> str | None:
    cleaned = "".join(c for c in code.upper() if c not in " -")
    if len(cleaned) != LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return cleaned


def _ref(keys: ServerKey, code: str) -> str:
    return keys.pseudonym("web-resume", code)


async def offer(session: AsyncSession, keys: ServerKey, chat: str, now: datetime) -> str:
    """A new code leading back to `chat`; stored as its keyed hash."""
    code = new_code()
    ref = _ref(keys, normalized(code) or "")
    sealed = keys.seal(chat.encode(), Sealed.WEB_RESUME.of(ref))
    session.add(WebResume(code_ref=ref, user_sealed=sealed, expires_at=now + VALID_FOR))
    await session.flush()
    return code


async def redeem(session: AsyncSession, keys: ServerKey, code: str, now: datetime) -> str | None:
    """The chat `code` leads back to, or None (unknown, expired or garbled)."""
    cleaned = normalized(code)
    if cleaned is None:
        return None
    ref = _ref(keys, cleaned)
    found = await session.get(WebResume, ref)
    if found is None:
        return None
    if found.expires_at.replace(tzinfo=now.tzinfo) < now:
        await session.delete(found)
        return None
    try:
        return keys.open(found.user_sealed, Sealed.WEB_RESUME.of(ref)).decode()
    except SealError:
        return None


async def due_now(session: AsyncSession, conversation_id: int, now: datetime) -> None:
    """What waits for the person is due at once (it was waiting for their page)."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.conversation_id == conversation_id,
            OutboxMessage.status == "pending",
            OutboxMessage.destination == repo.VICTIM,
        )
        .values(next_attempt_at=now)
    )


async def forget_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(WebResume).where(WebResume.expires_at < now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
