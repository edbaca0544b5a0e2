"""Shared fixtures: settings in a temporary data directory, and the databases.

Every storage-touching test runs on SQLite and, when ACCUEIL_TEST_POSTGRES_URL
names a server that answers, on PostgreSQL too (a fresh database per test).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app.compose import Core, build_core
from bot.app.settings import Settings, load_settings
from bot.clock import utcnow
from storage import transcripts
from storage.crypto import RecipientPrivateKey
from storage.db import make_engine, session_factory, upgrade

POSTGRES_URL = os.environ.get("ACCUEIL_TEST_POSTGRES_URL")
SKIP_POSTGRES = "PostgreSQL tests need ACCUEIL_TEST_POSTGRES_URL (`.ci/run` sets it when 127.0.0.1:5432 answers)"


async def _create_postgres_database(url: str) -> tuple[str, str]:
    import asyncpg  # only needed when PostgreSQL is in play

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


async def _drop_postgres_database(url: str, name: str) -> None:
    import asyncpg

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'accueil.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(SKIP_POSTGRES)
    url, name = await _create_postgres_database(POSTGRES_URL)
    try:
        yield url
    finally:
        await _drop_postgres_database(POSTGRES_URL, name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def recipient() -> RecipientPrivateKey:
    """The association's key in tests: transcripts are wrapped to it."""
    return RecipientPrivateKey.generate()


async def register_recipient(database_url: str, key: RecipientPrivateKey, label: str = "association") -> None:
    """Migrate the database and register `key`'s public half, as `accueil keys init` does."""
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            await transcripts.add_recipient(session, key.key_id, label, key.public.raw, utcnow())
    finally:
        await engine.dispose()


@pytest.fixture
async def settings(data_dir: Path, database_url: str, recipient: RecipientPrivateKey) -> Settings:
    await register_recipient(database_url, recipient)
    # Office hours "always", so what the person is told after the handoff does not depend on the day the
    # tests run; the office-hours tests set their own.
    return load_settings(
        {"ACCUEIL_DATA_DIR": str(data_dir), "ACCUEIL_DATABASE_URL": database_url, "ACCUEIL_OFFICE_HOURS": "always"}
    )


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    built = await build_core(settings)
    try:
        yield built
    finally:
        await built.close()
