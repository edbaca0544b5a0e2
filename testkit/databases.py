"""Databases for tests and benchmarks: a fresh PostgreSQL database per use, the association's
recipient key registered as `accueil keys init` does, and a bare case to write a transcript to."""

from __future__ import annotations

import secrets

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utcnow
from storage import repo, transcripts
from storage.crypto import RecipientPrivateKey
from storage.db import make_engine, session_factory, upgrade
from storage.models import Conversation


async def create_postgres_database(url: str) -> tuple[str, str]:
    """A new, empty database on the server of `url`: (its URL, its name)."""
    import asyncpg  # noqa: PLC0415 (only needed when PostgreSQL is in play)

    base = make_url(url)
    name = f"accueil_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(
        host=base.host or "127.0.0.1",
        port=base.port or 5432,
        user=base.username or "postgres",
        password=base.password,
        database=base.database or "postgres",
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return base.set(database=name).render_as_string(hide_password=False), name


async def drop_postgres_database(url: str, name: str) -> None:
    """Drop the database `name` on the server of `url`, even with connections still open."""
    import asyncpg  # noqa: PLC0415 (only needed when PostgreSQL is in play)

    base = make_url(url)
    admin = await asyncpg.connect(
        host=base.host or "127.0.0.1",
        port=base.port or 5432,
        user=base.username or "postgres",
        password=base.password,
        database=base.database or "postgres",
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def register_recipient(database_url: str, key: RecipientPrivateKey, label: str = "association") -> None:
    """Migrate the database and register `key`'s public half, as `accueil keys init` does."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            await transcripts.add_recipient(session, key.key_id, label, key.public.raw, utcnow())
    finally:
        await engine.dispose()


async def bare_case(
    sessions: async_sessionmaker[AsyncSession], *keys: RecipientPrivateKey, language: str = "en"
) -> Conversation:
    """A case in intake, with no state and no transcript yet (`keys` registered as recipients first)."""
    now = utcnow()
    async with sessions.begin() as session:
        for key in keys:
            await transcripts.add_recipient(session, key.key_id, "caseworker", key.public.raw, now)
        conversation = Conversation(
            public_id=repo.new_public_id(),
            channel="telegram",
            user_ref=secrets.token_hex(8),
            chat_sealed=b"sealed chat",
            language=language,
            status="intake",
            urgent=False,
            interpreter_needed=False,
            created_at=now,
            updated_at=now,
        )
        return await repo.add_conversation(session, conversation)
