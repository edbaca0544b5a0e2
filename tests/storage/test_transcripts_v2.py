"""Transcripts v2: per-case key pairs per epoch, revocation that re-keys, purge that shreds, v1 still read."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import admin
from bot.clock import utcnow
from bot.errors import ConfigError, TranscriptUnreadable
from bot.transcript.writer import Entry, TranscriptWriter, read_transcript, rewrap
from storage import crypto, keystore
from storage import transcripts as repo
from storage.crypto import GENESIS, RecipientPrivateKey, ServerKey, ShredKey
from storage.db import make_engine, session_factory, upgrade
from storage.models import (
    Conversation,
    ParkedUpdate,
    Transcript,
    TranscriptEntry,
    TranscriptEpoch,
    TranscriptEpochKey,
    TranscriptKey,
)
from testkit.databases import bare_case

Sessions = async_sessionmaker[AsyncSession]
CASE = "K7QM-2XPA"
SERVER = ServerKey(bytes(range(32)))


@pytest.fixture
async def sessions(database_url: str, tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)
    made = session_factory(engine)
    keystore.attach(made, tmp_path / "data")
    try:
        yield made
    finally:
        await engine.dispose()


async def _register(sessions: Sessions, *keys: RecipientPrivateKey) -> None:
    async with sessions.begin() as session:
        for key in keys:
            await repo.add_recipient(session, key.key_id, "caseworker", key.public.raw, utcnow())


def _entries(*texts: str) -> list[Entry]:
    return [Entry(who="victim", at="2026-12-03T10:00:00+00:00", kind="message", text=text) for text in texts]


async def _append(sessions: Sessions, conversation: Conversation, *texts: str) -> None:
    async with sessions.begin() as session:
        await TranscriptWriter(SERVER).append(session, conversation, _entries(*texts))


async def _read(sessions: Sessions, conversation: Conversation, key: RecipientPrivateKey) -> list[str | None]:
    async with sessions() as session:
        return [entry.text for entry in await read_transcript(session, conversation.public_id, key)]


# --- the sealing verbs -----------------------------------------------------------------------


def test_an_entry_opens_only_with_its_epoch_key_in_its_case_place_and_chain() -> None:
    case_key, other = crypto.new_case_key(), crypto.new_case_key()
    blob = crypto.seal_case_entry(case_key.public, CASE, 1, 4, GENESIS, b"what was said")
    assert crypto.open_case_entry(case_key, CASE, 1, 4, GENESIS, blob) == b"what was said"
    assert len(blob) == 1 + 1120 + 16 + len(b"what was said")  # version, X-Wing encapsulation, tag
    wrong = [
        (other, CASE, 1, 4, GENESIS, blob),  # another case key
        (case_key, "OTHR-CASE", 1, 4, GENESIS, blob),  # moved to another case
        (case_key, CASE, 2, 4, GENESIS, blob),  # wrong epoch
        (case_key, CASE, 1, 5, GENESIS, blob),  # moved in the sequence
        (case_key, CASE, 1, 4, b"\x01" * 32, blob),  # spliced after another entry
        (case_key, CASE, 1, 4, GENESIS, blob[:-1]),  # truncated
        (case_key, CASE, 1, 4, GENESIS, b""),
        (case_key, CASE, 1, 4, GENESIS, b"\x01" + blob[1:]),  # claims to be v1
    ]
    for position in (1, 600, 1121, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[position] ^= 0x01
        wrong.append((case_key, CASE, 1, 4, GENESIS, bytes(flipped)))
    for args in wrong:
        with pytest.raises(TranscriptUnreadable):
            crypto.open_case_entry(*args)


def test_a_wrapped_case_key_needs_the_recipient_key_the_shred_key_and_the_right_place() -> None:
    alice, bob = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    case_key, shred = crypto.new_case_key(), ShredKey.generate()
    public = case_key.public.raw
    wrapped = crypto.wrap_case_key(case_key, alice.public, shred, CASE, 3)
    assert crypto.unwrap_case_key(wrapped, alice, shred, CASE, 3, public).public.raw == public
    for args in (
        (wrapped, bob, shred, CASE, 3, public),  # another recipient
        (wrapped, alice, ShredKey.generate(), CASE, 3, public),  # another shred key (or a purged one)
        (wrapped, alice, shred, "OTHR-CASE", 3, public),  # another case
        (wrapped, alice, shred, CASE, 2, public),  # another epoch
        (wrapped, alice, shred, CASE, 3, crypto.new_case_key().public.raw),  # another public key
        (wrapped[:-1], alice, shred, CASE, 3, public),
    ):
        with pytest.raises(TranscriptUnreadable):
            crypto.unwrap_case_key(*args)
    assert "***" in repr(shred) and shred.raw.hex() not in repr(shred)


# --- through the writer and the reader --------------------------------------------------------


async def test_the_server_keeps_no_secret_that_opens_an_entry(sessions: Sessions, tmp_path: Path) -> None:
    key = RecipientPrivateKey.generate()
    await _register(sessions, key)
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "one", "two")
    await _append(sessions, conversation, "three")
    assert await _read(sessions, conversation, key) == ["one", "two", "three"]
    async with sessions() as session:
        state = await session.get(Transcript, conversation.id)
        epochs = (await session.execute(select(TranscriptEpoch))).scalars().all()
        rows = (await session.execute(select(TranscriptEntry))).scalars().all()
    assert state is not None and state.chain_sealed is None and state.next_seq == 3
    assert [e.epoch for e in epochs] == [1] and {r.epoch for r in rows} == {1}
    assert all(row.sealed[:1] == b"\x02" for row in rows)
    # The key store: a private directory, one private file per case, nothing left half-written.
    directory = tmp_path / "data" / keystore.DIRECTORY
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [p.name for p in directory.iterdir()] == [f"{conversation.public_id}.key"]
    assert stat.S_IMODE((directory / f"{conversation.public_id}.key").stat().st_mode) == 0o600


async def test_moved_reordered_removed_and_re_epoched_entries_are_named(sessions: Sessions) -> None:
    key = RecipientPrivateKey.generate()
    await _register(sessions, key)
    conversation, other = await bare_case(sessions), await bare_case(sessions)
    await _append(sessions, conversation, "a", "b", "c", "d")
    await _append(sessions, other, "x", "y")

    async def tamper(*statements: object) -> None:
        async with sessions.begin() as session:
            for statement in statements:
                await session.execute(statement)  # type: ignore[call-overload]

    async with sessions() as session:
        blobs = {
            (r.conversation_id, r.seq): r.sealed for r in (await session.execute(select(TranscriptEntry))).scalars()
        }

    def row(at: int, **values: object) -> object:
        return (
            update(TranscriptEntry)
            .where(TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq == at)
            .values(**values)
        )

    async def fails(match: str) -> None:
        with pytest.raises(TranscriptUnreadable, match=match):
            await _read(sessions, conversation, key)

    await tamper(row(1, sealed=blobs[(conversation.id, 2)]), row(2, sealed=blobs[(conversation.id, 1)]))
    await fails("entry 1")  # reordered
    await tamper(row(1, sealed=blobs[(other.id, 1)]), row(2, sealed=blobs[(conversation.id, 2)]))
    await fails("entry 1")  # moved from another case
    await tamper(row(1, sealed=blobs[(conversation.id, 1)], epoch=2))
    await fails("entry 1")  # claims another epoch
    await tamper(row(1, epoch=1))
    assert await _read(sessions, conversation, key) == ["a", "b", "c", "d"]
    await tamper(
        delete(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq == 2)
    )
    await fails("entry 2 is missing")  # truncated in the middle
    await tamper(row(3, seq=2))
    await fails("entry 2")  # the gap closed up: the chain still breaks
    await tamper(
        delete(TranscriptEntry).where(TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq == 2)
    )
    await fails("the last entries of case")  # the tail cut off, the head left as it was


async def test_a_revoked_key_reads_everything_before_the_revocation_and_nothing_after(sessions: Sessions) -> None:
    leaving, staying, later = (RecipientPrivateKey.generate() for _ in range(3))
    await _register(sessions, leaving, staying)
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "before 1", "before 2", "before 3")
    async with sessions() as session:  # what a copy of the database taken now holds
        copied_wraps = await repo.epoch_wraps(session, conversation.id)
    said = await admin.keys_revoke(sessions, leaving.key_id, utcnow())
    assert "1 case(s) re-keyed" in said and "2 wrapped transcript key(s) destroyed" not in said
    await _append(sessions, conversation, "after 1", "after 2")

    async with sessions() as session:
        rows = list(await repo.entries(session, conversation.id))
        epochs = await repo.epochs(session, conversation.id)
        wraps = {**copied_wraps, **await repo.epoch_wraps(session, conversation.id)}
    shred = keystore.KeyStore(keystore_dir(sessions)).load(conversation.public_id)
    assert [r.epoch for r in rows] == [1, 1, 1, 2, 2]
    assert (2, leaving.key_id) not in wraps and (2, staying.key_id) in wraps
    # As an attacker holding the revoked key, every wrap ever stored and the key store: every epoch key
    # it can unwrap, tried on every entry.
    opened: list[int] = []
    for (epoch, key_id), wrapped in wraps.items():
        if key_id != leaving.key_id:
            continue
        case_key = crypto.unwrap_case_key(
            wrapped, leaving, shred, conversation.public_id, epoch, epochs[epoch].public_key
        )
        previous = GENESIS
        for row in rows:
            try:
                crypto.open_case_entry(case_key, conversation.public_id, row.epoch, row.seq, previous, row.sealed)
                opened.append(row.seq)
            except TranscriptUnreadable:
                pass
            previous = crypto.case_entry_digest(conversation.public_id, row.epoch, row.seq, previous, row.sealed)
    assert opened == [0, 1, 2]  # all before, none after
    with pytest.raises(TranscriptUnreadable, match="was revoked"):
        await _read(sessions, conversation, leaving)
    assert await _read(sessions, conversation, staying) == ["before 1", "before 2", "before 3", "after 1", "after 2"]

    # A key added later reads nothing until a current key rewraps every epoch it can open to it.
    await _register(sessions, later)
    with pytest.raises(TranscriptUnreadable, match="cannot read case"):
        await _read(sessions, conversation, later)
    async with sessions.begin() as session:
        assert await rewrap(session, staying) == 2  # epochs 1 and 2
    assert len(await _read(sessions, conversation, later)) == 5


def keystore_dir(sessions: Sessions) -> Path:
    store = sessions.kw["info"]["accueil.keystore"]
    assert isinstance(store, keystore.KeyStore)
    return store.directory


async def test_a_public_key_swapped_in_the_database_is_refused_by_the_writer(sessions: Sessions) -> None:
    key, intruder = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    await _register(sessions, key)
    conversation = await bare_case(sessions)
    await _append(sessions, conversation, "first")
    async with sessions.begin() as session:
        await session.execute(
            update(TranscriptEpoch)
            .where(TranscriptEpoch.conversation_id == conversation.id)
            .values(public_key=intruder.public.raw)
        )
    with pytest.raises(TranscriptUnreadable, match="was not made here"):
        await _append(sessions, conversation, "second")
    async with sessions() as session:
        assert len(await repo.entries(session, conversation.id)) == 1


async def test_a_purge_shreds_the_case_key_then_the_rows_and_the_parked_updates(sessions: Sessions) -> None:
    key = RecipientPrivateKey.generate()
    await _register(sessions, key)
    conversation, kept = await bare_case(sessions), await bare_case(sessions)
    await _append(sessions, conversation, "to be erased")
    await _append(sessions, kept, "kept")
    async with sessions.begin() as session:
        for ref, public_id in (("P1", conversation.public_id), ("P2", kept.public_id)):
            session.add(
                ParkedUpdate(
                    ref=ref,
                    channel="telegram",
                    update_key=ref,
                    public_id=public_id,
                    payload_sealed=b"s",
                    error="E",
                    attempts=1,
                    parked_at=utcnow(),
                )
            )
    async with sessions() as session:  # a copy of the database taken before the purge
        wraps = await repo.epoch_wraps(session, conversation.id)
        epoch = (await repo.epochs(session, conversation.id))[1]
    directory = keystore_dir(sessions)
    assert (directory / f"{conversation.public_id}.key").exists()

    assert await admin.purge_case(sessions, conversation.public_id) == f"case {conversation.public_id} destroyed"
    assert not (directory / f"{conversation.public_id}.key").exists()
    assert (directory / f"{kept.public_id}.key").exists()
    async with sessions() as session:
        for model in (TranscriptEntry, TranscriptEpoch, TranscriptEpochKey, TranscriptKey, Transcript):
            left = (await session.execute(select(model).where(model.conversation_id == conversation.id))).all()
            assert left == [], model.__tablename__
        assert [p.ref for p in (await session.execute(select(ParkedUpdate))).scalars()] == ["P2"]
    # The old rows, as a backup taken before the purge holds them, no longer open with the recipient key:
    # the shred key they are sealed under is gone, and no other one fits.
    with pytest.raises(TranscriptUnreadable, match="not in"):
        keystore.KeyStore(directory).load(conversation.public_id)
    with pytest.raises(TranscriptUnreadable):
        crypto.unwrap_case_key(
            wraps[(1, key.key_id)], key, ShredKey.generate(), conversation.public_id, 1, epoch.public_key
        )
    assert await _read(sessions, kept, key) == ["kept"]


# --- transcripts written in the v1 format ------------------------------------------------------


async def _v1_transcript(
    sessions: Sessions, conversation: Conversation, key: RecipientPrivateKey, texts: list[str]
) -> None:
    """A transcript as the v1 writer made it: a chain key wrapped to the recipient, kept under the server key."""
    chain_key = crypto.new_chain_key()
    case = conversation.public_id
    async with sessions.begin() as session:
        await repo.add_wrapped_key(
            session, conversation.id, key.key_id, crypto.wrap_chain_key(chain_key, key.public, case)
        )
        previous = GENESIS
        for seq, entry in enumerate(_entries(*texts)):
            sealed = crypto.seal_entry(chain_key, case, seq, previous, entry.to_bytes())
            await repo.add_entry(session, conversation.id, seq, sealed)
            previous = crypto.entry_digest(case, seq, previous, sealed)
            chain_key = crypto.next_chain_key(chain_key)
        session.add(
            Transcript(
                conversation_id=conversation.id,
                chain_sealed=SERVER.seal(chain_key, f"chain:{case}"),
                next_seq=len(texts),
                last_digest=previous,
            )
        )


async def test_a_v1_transcript_still_opens_and_goes_on_in_v2_at_its_next_append(sessions: Sessions) -> None:
    key, later = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    await _register(sessions, key)
    conversation = await bare_case(sessions)
    await _v1_transcript(sessions, conversation, key, ["old 1", "old 2"])
    assert await _read(sessions, conversation, key) == ["old 1", "old 2"]

    await _append(sessions, conversation, "new 1")
    async with sessions() as session:
        state = await session.get(Transcript, conversation.id)
        rows = list(await repo.entries(session, conversation.id))
    assert state is not None and state.chain_sealed is None  # the server key holds nothing of it any more
    assert [r.epoch for r in rows] == [0, 0, 1]
    assert await _read(sessions, conversation, key) == ["old 1", "old 2", "new 1"]

    await _register(sessions, later)
    async with sessions.begin() as session:
        assert await rewrap(session, key) == 2  # the v1 chain key and epoch 1
    assert await _read(sessions, conversation, later) == ["old 1", "old 2", "new 1"]
    # A v1 entry cannot be passed off as a v2 one, nor follow one.
    async with sessions.begin() as session:
        await session.execute(
            update(TranscriptEntry)
            .where(TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq == 1)
            .values(epoch=1)
        )
    with pytest.raises(TranscriptUnreadable, match="entry 1"):
        await _read(sessions, conversation, key)


def test_destroying_a_case_key_overwrites_the_file_in_place_before_deleting_it(tmp_path: Path) -> None:
    store = keystore.KeyStore(tmp_path / "keystore")
    key = store.create(CASE)
    assert store.create(CASE).raw == key.raw  # an existing key is kept
    path = tmp_path / "keystore" / f"{CASE}.key"
    before = path.read_bytes()
    os.link(path, tmp_path / "another-name")  # the same blocks, seen through a second name
    assert store.destroy(CASE) and not path.exists()
    after = (tmp_path / "another-name").read_bytes()
    assert after != before and key.raw not in after and base64.b64encode(key.raw) not in after
    assert not store.destroy(CASE)
    with pytest.raises(TranscriptUnreadable, match="purged"):
        store.load(CASE)
    with pytest.raises(ConfigError):
        store.create("../escape")
