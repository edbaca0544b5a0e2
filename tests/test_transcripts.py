"""Transcripts end to end: a Telegram intake with a canary, read back only with the right key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.app.settings import PROJECT_ROOT, Settings
from storage.crypto import RecipientPrivateKey
from storage.db import make_engine
from storage.models import Conversation, TranscriptEntry
from testkit.fake_bot_api import FakeBotAPI
from tests.conftest import register_recipient
from tests.telegram import TOKEN, Victim, running_bot

CANARY = "CANARY-d41f-Lorem-Ipsum-7"
PASSPHRASE = "correct horse battery staple"


def _key_file(tmp_path: Path, key: RecipientPrivateKey, name: str) -> Path:
    path = tmp_path / "keys" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(key.to_file_bytes(PASSPHRASE, n=2**14))
    path.chmod(0o600)  # as `accueil keys init` writes it: a key file others can read is refused
    return path


def accueil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ACCUEIL_DATA_DIR": str(settings.data_dir),
        "ACCUEIL_DATABASE_URL": settings.database_url,
        "ACCUEIL_KEY_PASSPHRASE": PASSPHRASE,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _intake_with_canary(settings: Settings) -> str:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=5550123, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        await victim.answer("No")
        await victim.answer("Yes")
        await victim.answer("For myself")
        await victim.answer("Forced work in someone")
        needs = await victim.question()
        victim.press(needs, "Done")
        await victim.answer("No, I don")  # documents
        await victim.question()
        victim.write(f"Lyon {CANARY}")
        await victim.answer("I prefer not to answer")
        await victim.answer("I prefer not to answer")
        await victim.answer("No")
        await victim.question()
        victim.write(f"My story: {CANARY} and more.")
        await api.wait_until(lambda: "116 006" in " ".join(victim.texts()), 10)
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalar_one()
        return case.public_id


async def test_the_canary_is_nowhere_but_in_the_transcript_read_with_the_key(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    case = await _intake_with_canary(settings)
    assert CANARY not in caplog.text

    # The database: every table, every row; and for SQLite, every file under the data directory.
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            for table in (
                "conversations",
                "outbox",
                "processed_updates",
                "transcripts",
                "transcript_keys",
                "transcript_entries",
                "recipient_keys",
            ):
                rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()
                assert CANARY.encode() not in repr(rows).encode(), table
                assert b"5550123" not in repr(rows).encode(), table
    finally:
        await engine.dispose()
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name

    listing = accueil(settings, "cases", "list")
    assert listing.returncode == 0 and case in listing.stdout and CANARY not in listing.stdout
    assert "handoff" in listing.stdout

    shown = accueil(settings, "transcript", "show", case, "--key", str(_key_file(tmp_path, recipient, "a.key")))
    assert shown.returncode == 0, shown.stderr
    assert f"Lyon {CANARY}" in shown.stdout and f"My story: {CANARY} and more." in shown.stdout
    assert "Are you in danger right now?" in shown.stdout  # the bot's side is there too
    assert "in_danger: no" in shown.stdout  # the intake's answers, sealed at handoff

    exported = accueil(
        settings, "transcript", "export", case, "--key", str(tmp_path / "keys" / "a.key"), "--format", "json"
    )
    assert exported.returncode == 0 and f'"text": "Lyon {CANARY}"' in exported.stdout


async def test_another_key_a_revoked_key_and_a_purged_case_fail_with_one_line(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path
) -> None:
    case = await _intake_with_canary(settings)
    stranger = _key_file(tmp_path, RecipientPrivateKey.generate(), "stranger.key")
    own = _key_file(tmp_path, recipient, "own.key")

    denied = accueil(settings, "transcript", "show", case, "--key", str(stranger))
    assert denied.returncode == 2
    assert denied.stderr.strip().count("\n") == 0 and "cannot read case" in denied.stderr
    assert "Traceback" not in denied.stderr and CANARY not in denied.stdout

    wrong = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "transcript", "show", case, "--key", str(own)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_KEY_PASSPHRASE": "not the passphrase",
        },
    )
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr

    # A second key is added later; rewrap gives it the past case; then the first key is revoked.
    second = RecipientPrivateKey.generate()
    await register_recipient(settings.database_url, second, "caseworker 2")
    assert (
        accueil(settings, "transcript", "show", case, "--key", str(_key_file(tmp_path, second, "b.key"))).returncode
        == 2
    )
    rewrapped = accueil(settings, "keys", "rewrap", "--key", str(own))
    assert rewrapped.returncode == 0 and "1 transcript key(s)" in rewrapped.stdout
    assert CANARY in accueil(settings, "transcript", "show", case, "--key", str(tmp_path / "keys" / "b.key")).stdout
    revoked = accueil(settings, "keys", "revoke", recipient.key_id)
    assert revoked.returncode == 0, revoked.stderr
    after = accueil(settings, "transcript", "show", case, "--key", str(own))
    assert after.returncode == 2 and "was revoked" in after.stderr

    purged = accueil(settings, "purge", "--case", case)
    assert purged.returncode == 0 and "destroyed" in purged.stdout
    gone = accueil(settings, "transcript", "show", case, "--key", str(tmp_path / "keys" / "b.key"))
    assert gone.returncode == 2 and f"no case {case}" in gone.stderr
    assert case not in accueil(settings, "cases", "list").stdout


async def test_a_flipped_byte_in_one_stored_entry_names_that_entry(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path
) -> None:
    case = await _intake_with_canary(settings)
    engine = make_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            row = (
                await connection.execute(
                    select(TranscriptEntry.conversation_id, TranscriptEntry.sealed).where(TranscriptEntry.seq == 5)
                )
            ).one()
            damaged = bytearray(row.sealed)
            damaged[20] ^= 0x01
            await connection.execute(
                TranscriptEntry.__table__.update()
                .where(TranscriptEntry.seq == 5, TranscriptEntry.conversation_id == row.conversation_id)
                .values(sealed=bytes(damaged))
            )
    finally:
        await engine.dispose()
    result = accueil(settings, "transcript", "show", case, "--key", str(_key_file(tmp_path, recipient, "a.key")))
    assert result.returncode == 2
    assert result.stderr.strip() == "accueil: entry 5 has been altered, moved or removed"
