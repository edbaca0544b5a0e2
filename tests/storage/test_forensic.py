"""Copies of the data directory, taken as the real bot runs, read as an attacker would.

An intake with a canary runs through the real bot and the fake Bot API. The
data directory (database, WAL, journal, server key, key store) is copied mid-
intake, after the handoff, after a revocation and after a purge. Each copy is
handed to `testkit.attacker`, which decodes every row version in every file and
tries every key it finds on every blob: with the server key and the key store,
no transcript entry opens; a revoked key opens every entry before its
revocation and none after; after the purge nothing of the case opens even with
every recipient private key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app.settings import PROJECT_ROOT, Settings
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, TranscriptEntry
from testkit.attacker import PG_TUPLES, dump_postgres, loot, opened_entries
from testkit.databases import register_recipient
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot

CANARY = "CANARY-5e1b-Forensic-9"


def _accueil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCUEIL_DATA_DIR": str(settings.data_dir), "ACCUEIL_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _copy(settings: Settings, to: Path) -> Path:
    """What someone who walks off with the data directory (and, on PostgreSQL, the database's pages) has.

    Copied by another process: closing a descriptor of the live database in this one would drop the
    bot's POSIX locks on it (and the next process to close it would then delete the WAL under the bot).
    """
    to.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(settings.data_dir), str(to)], check=True, timeout=60)
    if settings.database_url.startswith("postgresql"):
        import asyncpg

        url = make_url(settings.database_url)
        connection = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
        )
        try:
            await dump_postgres(connection, to / PG_TUPLES)
        finally:
            await connection.close()
    return to


async def _entries(running: RunningBot) -> int:
    async with running.core.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(TranscriptEntry))).scalar_one())


async def _written(running: RunningBot, more_than: int) -> None:
    for _ in range(200):
        if await _entries(running) > more_than:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the transcript did not grow")


async def _intake(victim: Victim, running: RunningBot, settings: Settings, copies: Path) -> str:
    victim.write("/start")
    await victim.answer("English")
    await victim.answer("No")
    await victim.answer("Yes")
    await victim.answer("For myself")
    await victim.answer("Forced work in someone")
    needs = await victim.question()
    victim.press(needs, "Done")
    await victim.answer("No, I don")
    await victim.question()
    victim.write(f"Lyon {CANARY}")
    await victim.answer("I prefer not to answer")
    await _copy(settings, copies / "mid-intake")
    await victim.answer("I prefer not to answer")
    await victim.answer("No")
    await victim.question()
    victim.write(f"My story: {CANARY} and more.")
    await victim.api.wait_until(lambda: "116 006" in " ".join(victim.texts()), 10)
    async with running.core.sessions() as session:
        return (await session.execute(select(Conversation.public_id))).scalar_one()


async def test_no_copy_of_the_data_directory_opens_an_entry_and_a_purge_leaves_nothing(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path
) -> None:
    copies = tmp_path / "copies"
    staying = RecipientPrivateKey.generate()
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=5550777, language_code="en")
        case = await _intake(victim, running, settings, copies)
        await _copy(settings, copies / "after-handoff")

        await register_recipient(settings.database_url, staying, "caseworker 2")
        revoked = _accueil(settings, "keys", "revoke", recipient.key_id)
        assert revoked.returncode == 0 and "1 case(s) re-keyed" in revoked.stdout, revoked.stderr
        before = await _entries(running)
        victim.write(f"After the revocation: {CANARY}")
        await _written(running, before)
        await _copy(settings, copies / "after-revocation")

        purged = _accueil(settings, "purge", "--case", case)
        assert purged.returncode == 0 and "destroyed" in purged.stdout, purged.stderr
        await _copy(settings, copies / "after-purge")

    for copy in copies.iterdir():  # nothing in clear (on PostgreSQL: in no tuple, live or dead)
        for path in copy.rglob("*"):
            assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path

    # The attacker works: with the recipient key, the mid-intake copy gives up what was said so far.
    control = opened_entries(copies / "mid-intake", recipients=[recipient])
    assert any(CANARY.encode() in text for text in control.values()) and len(control) > 5

    # The server key, the key store and every row version: no entry opens, at any moment, nor with
    # every copy together.
    moments = [copies / m for m in ("mid-intake", "after-handoff", "after-revocation", "after-purge")]
    for moment in moments:
        assert opened_entries(moment) == {}, moment.name
    assert opened_entries(*moments) == {}

    # The revoked key, with every copy taken before and after its revocation: all before, none after.
    after_revocation = loot(copies / "after-revocation")
    epochs = {seq: epoch for _, seq, epoch, _ in after_revocation.entries}
    old = {seq for seq, epoch in epochs.items() if epoch == 1}
    new = {seq for seq, epoch in epochs.items() if epoch == 2}
    assert old and new and max(old) < min(new)
    by_revoked = {seq for (_, seq) in opened_entries(*moments[:3], recipients=[recipient])}
    assert by_revoked == old
    by_staying = opened_entries(copies / "after-revocation", recipients=[staying])
    assert {seq for (_, seq) in by_staying} == new
    assert any(CANARY.encode() in text for text in by_staying.values())

    # After the purge, nothing of the case opens, with every recipient key there is.
    assert opened_entries(copies / "after-purge", recipients=[recipient, staying]) == {}
    if settings.database_url.startswith("postgresql"):  # the purged rows are still there, dead, before VACUUM
        assert loot(copies / "after-purge").entries
    assert not (copies / "after-purge" / "keystore" / f"{case}.key").exists()
