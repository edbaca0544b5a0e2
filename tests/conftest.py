"""Shared fixtures: settings in a temporary data directory, and the databases.

Every storage-touching test runs on SQLite and, when ACCUEIL_TEST_POSTGRES_URL
names a server that answers, on PostgreSQL too (a fresh database per test).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.compose import Core, build_core
from bot.app.settings import Settings, load_settings
from storage.crypto import RecipientPrivateKey
from testkit.databases import create_postgres_database, drop_postgres_database, register_recipient

POSTGRES_URL = os.environ.get("ACCUEIL_TEST_POSTGRES_URL")
# `accueil run` started by a test serves no web side (port 8090 is no test's to take) unless the test
# gives ACCUEIL_WEB_LISTEN a free port itself.
os.environ.setdefault("ACCUEIL_WEB_LISTEN", "off")
SKIP_POSTGRES = "PostgreSQL tests need ACCUEIL_TEST_POSTGRES_URL (`.ci/run` sets it when 127.0.0.1:5432 answers)"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'accueil.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(SKIP_POSTGRES)
    url, name = await create_postgres_database(POSTGRES_URL)
    try:
        yield url
    finally:
        await drop_postgres_database(POSTGRES_URL, name)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def recipient() -> RecipientPrivateKey:
    """The association's key in tests: transcripts are wrapped to it."""
    return RecipientPrivateKey.generate()


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
