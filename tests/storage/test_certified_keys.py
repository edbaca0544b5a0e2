"""Certified recipients: a key written into the database gets no case key; transcript heads set back
in the database, or older than one a reader saw, are reported."""

from __future__ import annotations

import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import admin, keys
from bot.clock import utcnow
from bot.errors import ConfigError, TranscriptUnreadable
from bot.transcript import certificates, heads
from bot.transcript.writer import Entry, TranscriptWriter, read_transcript, rewrap
from storage import crypto, keystore
from storage import transcripts as repo
from storage.crypto import AssociationKey, RecipientPrivateKey, ServerKey
from storage.db import make_engine, session_factory, upgrade
from storage.models import Conversation, TranscriptEntry, TranscriptEpochKey
from testkit.databases import bare_case

Sessions = async_sessionmaker[AsyncSession]
SERVER = ServerKey(bytes(range(32)))
ASSOCIATION = AssociationKey.generate()
PINNED = certificates.fingerprint(ASSOCIATION.public)
PASSPHRASE = "a long enough passphrase"


@pytest.fixture
async def sessions(database_url: str, tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)
    made = session_factory(engine)
    keystore.attach(made, tmp_path / "data")
    certificates.pin(made, PINNED)
    try:
        yield made
    finally:
        await engine.dispose()


async def _register(sessions: Sessions, key: RecipientPrivateKey, certificate: str | None) -> None:
    async with sessions.begin() as session:
        await repo.add_recipient(session, key.key_id, f"key {key.key_id}", key.public.raw, utcnow(), certificate)


def _certified(key: RecipientPrivateKey, by: AssociationKey = ASSOCIATION) -> str:
    return certificates.certify(by, "Association", key.public, utcnow())


async def _append(sessions: Sessions, conversation: Conversation, *texts: str) -> None:
    entries = [Entry(who="victim", at="2026-12-03T10:00:00+00:00", kind="message", text=t) for t in texts]
    async with sessions.begin() as session:
        await TranscriptWriter(SERVER).append(session, conversation, entries)


async def _wrapped_to(sessions: Sessions, conversation: Conversation) -> set[tuple[int, str]]:
    async with sessions() as session:
        return set(await repo.epoch_wraps(session, conversation.id))


async def test_only_certified_keys_get_case_keys_and_the_others_are_named(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    marie, injected, foreign, copied, later = (RecipientPrivateKey.generate() for _ in range(5))
    await _register(sessions, marie, _certified(marie))
    await _register(sessions, injected, None)  # one INSERT, no certificate
    await _register(sessions, foreign, _certified(foreign, AssociationKey.generate()))  # another association
    await _register(sessions, copied, _certified(marie))  # Marie's certificate on another key
    conversation = await bare_case(sessions)
    with caplog.at_level(logging.ERROR):
        await _append(sessions, conversation, "first", "second")
    assert await _wrapped_to(sessions, conversation) == {(1, marie.key_id)}
    refused = [r.getMessage() for r in caplog.records if "REFUSED" in r.getMessage()]
    assert len(refused) == 3  # one line per refused key at the case's opening, naming it
    for key in (injected, foreign, copied):
        assert any(key.key_id in line for line in refused)
    with pytest.raises(TranscriptUnreadable, match="cannot read case"):
        async with sessions() as session:
            await read_transcript(session, conversation.public_id, injected)

    # The routine rewrap hands past cases to no uncertified key; revocation's new epochs neither.
    async with sessions.begin() as session:
        assert await rewrap(session, marie) == 0
    await _register(sessions, later, _certified(later))
    async with sessions.begin() as session:
        assert await rewrap(session, marie) == 1
    said = await keys.keys_revoke(sessions, marie.key_id, utcnow())
    assert "1 case(s) re-keyed" in said
    assert await _wrapped_to(sessions, conversation) == {(1, later.key_id), (2, later.key_id)}

    listing = await keys.keys_list(sessions)
    line = {row.split()[0]: row for row in listing.splitlines()[1:]}
    assert "REFUSED" in line[injected.key_id] and "no certificate" in line[injected.key_id]
    assert "REFUSED" in line[foreign.key_id] and "REFUSED" in line[copied.key_id]
    assert "active" in line[later.key_id] and f"Association ({PINNED[:16]})" in line[later.key_id]
    assert "revoked" in line[marie.key_id]


async def test_no_certified_key_is_one_line_naming_the_command(sessions: Sessions) -> None:
    await _register(sessions, RecipientPrivateKey.generate(), None)
    conversation = await bare_case(sessions)
    with pytest.raises(ConfigError, match="keys certify"):
        await _append(sessions, conversation, "words")


async def test_a_certificate_survives_only_for_the_key_and_association_it_names() -> None:
    key = RecipientPrivateKey.generate()
    good = _certified(key)
    assert certificates.check(good, key.public.raw, PINNED).ok
    assert certificates.check(good, key.public.raw, None).ok  # nothing pinned: any association's signature
    assert not certificates.check(good, RecipientPrivateKey.generate().public.raw, PINNED).ok
    assert not certificates.check(good.replace('"by": "Association"', '"by": "Someone"'), key.public.raw, PINNED).ok
    assert not certificates.check("not json", key.public.raw, PINNED).ok
    other = certificates.fingerprint(AssociationKey.generate().public)
    assert "another key" in certificates.check(good, key.public.raw, other).why


async def _cut_tail(sessions: Sessions, conversation: Conversation, keep: int) -> None:
    """What a database writer can do: drop the last entries and set the head back (all public data)."""
    async with sessions.begin() as session:
        await session.execute(
            delete(TranscriptEntry).where(
                TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq >= keep
            )
        )
        rows = (
            await session.execute(
                select(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation.id)
                .order_by(TranscriptEntry.seq)
            )
        ).scalars().all()  # fmt: skip
        previous = crypto.GENESIS
        for row in rows:
            previous = crypto.case_entry_digest(conversation.public_id, row.epoch, row.seq, previous, row.sealed)
        state = await repo.transcript(session, conversation.id)
        assert state is not None
        state.next_seq, state.last_digest = keep, previous


def _key_file(tmp_path: Path, key: RecipientPrivateKey) -> Path:
    path = tmp_path / "keys" / "marie.key"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(key.to_file_bytes(PASSPHRASE, n=2**14))
    path.chmod(0o600)
    return path


async def test_a_tail_cut_with_the_head_set_back_is_reported_by_the_server_mac_and_the_reader(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCUEIL_KEY_PASSPHRASE", PASSPHRASE)
    marie = RecipientPrivateKey.generate()
    await _register(sessions, marie, _certified(marie))
    conversation = await bare_case(sessions)
    case = conversation.public_id
    await _append(sessions, conversation, "one", "two", "three", "four", "five")
    key_file = _key_file(tmp_path, marie)

    entries, problems = await admin.transcript_checked(sessions, case, key_file, SERVER)
    assert [e.text for e in entries] == ["one", "two", "three", "four", "five"] and problems == []
    memory = heads.memory_of(key_file)
    assert stat.S_IMODE(memory.stat().st_mode) == 0o600 and "one" not in memory.read_text()

    await _cut_tail(sessions, conversation, keep=3)
    async with sessions() as session:  # the chain alone holds: this is what went unnoticed
        assert len(await read_transcript(session, case, marie)) == 3
    entries, problems = await admin.transcript_checked(sessions, case, key_file, SERVER)
    assert len(entries) == 3 and len(problems) == 2
    assert problems[0].startswith(f"case {case}: the transcript's head (3 entries) does not carry the server's MAC")
    assert problems[1] == (
        f"case {case}: 2 entries are missing since this key last read it (5 entries then, 3 now): "
        "the transcript was cut or rolled back"
    )
    # A reader without the server key still sees it, and keeps remembering the longer transcript.
    assert (await admin.transcript_checked(sessions, case, key_file, None))[1] == problems[1:]


async def test_the_bot_keeps_the_head_mac_and_a_rewritten_transcript_is_reported(
    sessions: Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCUEIL_KEY_PASSPHRASE", PASSPHRASE)
    marie = RecipientPrivateKey.generate()
    await _register(sessions, marie, _certified(marie))
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "one", "two")
    key_file = _key_file(tmp_path, marie)
    assert (await admin.transcript_checked(sessions, conversation.public_id, key_file, SERVER))[1] == []
    await _append(sessions, conversation, "three")  # grows: no problem, the newer head is remembered
    assert (await admin.transcript_checked(sessions, conversation.public_id, key_file, SERVER))[1] == []
    await _cut_tail(sessions, conversation, keep=2)
    await _append(sessions, conversation, "something else")  # as long as before, but not the same
    _, problems = await admin.transcript_checked(sessions, conversation.public_id, key_file, SERVER)
    assert problems == [
        f"case {conversation.public_id}: the transcript differs from the one this key read before: it was rewritten"
    ]


async def test_no_key_is_wrapped_to_after_its_certificate_row_is_cleared(sessions: Sessions) -> None:
    marie, paul = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    await _register(sessions, marie, _certified(marie))
    await _register(sessions, paul, _certified(paul))
    async with sessions.begin() as session:
        row = await repo.recipient(session, paul.key_id)
        assert row is not None
        row.certificate = row.certificate.replace('"at": "', '"at": "1') if row.certificate else None
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "words")
    async with sessions() as session:
        wrapped = (await session.execute(select(TranscriptEpochKey.key_id))).scalars().all()
    assert list(wrapped) == [marie.key_id]


async def test_heads_from_before_the_mac_are_sealed_once_and_a_cleared_mac_is_never_sealed_again(
    sessions: Sessions, tmp_path: Path
) -> None:
    marie = RecipientPrivateKey.generate()
    await _register(sessions, marie, _certified(marie))
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "one", "two")

    async def clear_mac() -> None:
        async with sessions.begin() as session:
            state = await repo.transcript(session, conversation.id)
            assert state is not None
            state.head_mac = None

    async def problem() -> str | None:
        async with sessions() as session:
            state = await repo.transcript(session, conversation.id)
            assert state is not None
            return heads.server_problem(SERVER, conversation.public_id, state)

    await clear_mac()  # as a transcript written before heads had a MAC
    assert await problem() is not None
    async with sessions() as session:
        assert await heads.seal_old_heads(session, SERVER, tmp_path) == 1
    assert await problem() is None
    await clear_mac()  # a database writer clears it, hoping the next start seals the head they left
    async with sessions() as session:
        assert await heads.seal_old_heads(session, SERVER, tmp_path) == 0
    assert await problem() is not None


async def test_a_revoked_key_stays_revoked_when_its_row_is_cleared(sessions: Sessions, tmp_path: Path) -> None:
    marie, paul = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    await _register(sessions, marie, _certified(marie))
    await _register(sessions, paul, _certified(paul))
    await keys.keys_revoke(sessions, paul.key_id, utcnow())
    listed = tmp_path / "data" / "revoked-keys"
    assert listed.read_text().split() == [paul.key_id] and stat.S_IMODE(listed.stat().st_mode) == 0o600
    async with sessions.begin() as session:  # a database writer "un-revokes" the key
        row = await repo.recipient(session, paul.key_id)
        assert row is not None
        row.revoked_at = None
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "words")
    assert await _wrapped_to(sessions, conversation) == {(1, marie.key_id)}
    listing = await keys.keys_list(sessions)
    assert any(line.startswith(paul.key_id) and "revoked" in line for line in listing.splitlines())
