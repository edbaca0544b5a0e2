"""`accueil keys` with an association key, as three caseworkers' association would use it, and
`accueil transcript show` reporting a cut transcript (exit code 2), through the real command."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
from pathlib import Path

from sqlalchemy import delete

from bot.transcript.writer import Entry, TranscriptWriter
from storage import crypto, keystore
from storage import transcripts as repo
from storage.db import make_engine, session_factory
from storage.models import TranscriptEntry
from testkit.accueil import operator_env, run_accueil
from testkit.databases import bare_case

PASSPHRASE = "correct horse battery staple"


def _accueil(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    values = {"ACCUEIL_DATA_DIR": str(data_dir), "ACCUEIL_KEY_PASSPHRASE": PASSPHRASE, **env}
    return run_accueil(*args, env=operator_env(**values))


def test_an_association_certifies_its_caseworkers_keys_and_refuses_the_others(tmp_path: Path) -> None:
    data_dir, offline = tmp_path / "data", tmp_path / "offline"
    association = offline / "association.key"
    made = _accueil(offline / "data", "keys", "init", "--association", "--out", str(association), "--label", "Asso")
    assert made.returncode == 0, made.stderr
    pin = made.stdout.strip().splitlines()[-1].split("=", 1)[1]
    assert len(pin) == 64 and stat.S_IMODE(association.stat().st_mode) == 0o600
    assert json.loads(association.with_name("association.key.pub").read_text())["fingerprint"] == pin
    pinned = {"ACCUEIL_ASSOCIATION_KEY": pin}

    # Marie's key, certified at creation; Paul's key, made on his machine, refused until certified.
    marie = tmp_path / "marie.key"
    made = _accueil(data_dir, "keys", "init", "--out", str(marie), "--label", "Marie", "--association-key",
                    str(association), **pinned)  # fmt: skip
    assert made.returncode == 0 and "certified, registered" in made.stdout, made.stderr
    paul = tmp_path / "paul" / "paul.key"
    assert _accueil(tmp_path / "paul" / "data", "keys", "init", "--out", str(paul), "--label", "Paul").returncode == 0
    refused = _accueil(data_dir, "keys", "add", f"{paul}.pub", **pinned)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "keys certify" in refused.stderr
    certified = _accueil(offline / "data", "keys", "certify", f"{paul}.pub", "--association-key", str(association))
    assert certified.returncode == 0, certified.stderr
    assert _accueil(data_dir, "keys", "add", f"{paul}.pub", **pinned).returncode == 0

    listing = _accueil(data_dir, "keys", "list", **pinned).stdout
    assert listing.count(f"Asso ({pin[:16]})") == 2 and "REFUSED" not in listing
    unpinned = _accueil(data_dir, "keys", "list").stdout
    assert "no ACCUEIL_ASSOCIATION_KEY is pinned" in unpinned
    wrong = _accueil(data_dir, "keys", "list", ACCUEIL_ASSOCIATION_KEY="abc")
    assert wrong.returncode == 2 and "64 hex digits" in wrong.stderr


def test_transcript_show_prints_a_cut_transcript_and_exits_2(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key_file = tmp_path / "marie.key"
    assert _accueil(data_dir, "keys", "init", "--out", str(key_file)).returncode == 0
    server = crypto.load_server_key(data_dir, None, create=True)

    async def write_then_cut() -> str:
        engine = make_engine(f"sqlite+aiosqlite:///{data_dir / 'accueil.db'}")
        sessions = session_factory(engine)
        keystore.attach(sessions, data_dir)
        try:
            conversation = await bare_case(sessions)
            entries = [Entry(who="victim", at="2026-12-03T10:00:00+00:00", kind="message", text=t) for t in "abcd"]
            async with sessions.begin() as session:
                await TranscriptWriter(server).append(session, conversation, entries)
            async with sessions.begin() as session:
                await session.execute(delete(TranscriptEntry).where(TranscriptEntry.seq >= 2))
                state = await repo.transcript(session, conversation.id)
                assert state is not None
                rows = await repo.entries(session, conversation.id)
                previous = crypto.GENESIS
                for row in rows:
                    previous = crypto.case_entry_digest(conversation.public_id, 1, row.seq, previous, row.sealed)
                state.next_seq, state.last_digest = 2, previous
            return conversation.public_id
        finally:
            await engine.dispose()

    case = asyncio.run(write_then_cut())
    shown = _accueil(data_dir, "transcript", "show", case, "--key", str(key_file))
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "victim a" in shown.stdout and "victim b" in shown.stdout and "victim c" not in shown.stdout
    assert shown.stderr.strip().splitlines() == [
        f"accueil: case {case}: the transcript's head (2 entries) does not carry the server's MAC: it was set "
        "back in the database, and entries after the last one shown may have been removed"
    ]
