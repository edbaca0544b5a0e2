"""The transcript sealing verbs: known answers, and every way a transcript must refuse to open."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import ConfigError, TranscriptUnreadable
from storage.crypto import (
    GENESIS,
    RecipientPrivateKey,
    RecipientPublicKey,
    entry_digest,
    key_id_of,
    new_chain_key,
    next_chain_key,
    open_entry,
    seal_entry,
    unwrap_chain_key,
    wrap_chain_key,
)

CONV = "K7QM-2XPA"


def _hkdf_sha256(ikm: bytes, info: bytes) -> bytes:
    """RFC 5869 with an empty salt, written out with the standard library."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


@pytest.fixture(scope="module")
def alice() -> RecipientPrivateKey:
    return RecipientPrivateKey(bytes(range(96)))


@pytest.fixture(scope="module")
def bob() -> RecipientPrivateKey:
    return RecipientPrivateKey.generate()


def _transcript(chain_key: bytes, texts: list[bytes], conversation: str = CONV) -> list[bytes]:
    blobs, previous, key = [], GENESIS, chain_key
    for seq, text in enumerate(texts):
        blob = seal_entry(key, conversation, seq, previous, text)
        blobs.append(blob)
        previous = entry_digest(conversation, seq, previous, blob)
        key = next_chain_key(key)
    return blobs


def _read(chain_key: bytes, blobs: list[bytes], conversation: str = CONV) -> list[bytes]:
    out, previous, key = [], GENESIS, chain_key
    for seq, blob in enumerate(blobs):
        out.append(open_entry(key, conversation, seq, previous, blob))
        previous = entry_digest(conversation, seq, previous, blob)
        key = next_chain_key(key)
    return out


def test_known_answer_for_one_entry() -> None:
    chain_key = bytes(32)
    blob = seal_entry(chain_key, CONV, 0, GENESIS, b"hello", nonce=bytes(12))
    # The key is HKDF-SHA256(K0, "accueil/transcript/entry/v1"), derived independently here.
    key = _hkdf_sha256(chain_key, b"accueil/transcript/entry/v1")
    aad = f"accueil/entry/v1|{CONV}|0|".encode() + GENESIS
    assert AESGCM(key).decrypt(bytes(12), blob[13:], aad) == b"hello"
    assert blob.hex() == "01000000000000000000000000" + AESGCM(key).encrypt(bytes(12), b"hello", aad).hex()
    # The chain moves with HKDF-SHA256(Kn, "accueil/transcript/chain/v1").
    assert next_chain_key(chain_key) == _hkdf_sha256(chain_key, b"accueil/transcript/chain/v1")


def test_known_answer_for_a_recipient_key(alice: RecipientPrivateKey) -> None:
    assert alice.key_id == key_id_of(alice.public.raw)
    assert alice.key_id == hashlib.sha256(b"accueil/key-id/v1|" + alice.public.raw).hexdigest()[:16]
    assert len(alice.public.raw) == 1216
    # The same secret always gives the same public key.
    assert RecipientPrivateKey(bytes(range(96))).public.raw == alice.public.raw


@pytest.mark.parametrize("text", [b"", "é" * 4096, "🙂" * 4096, "x" * 4096])
def test_entries_round_trip_including_empty_and_the_longest_message(text: bytes | str) -> None:
    data = text.encode() if isinstance(text, str) else text
    chain_key = new_chain_key()
    assert _read(chain_key, _transcript(chain_key, [data, b"next"])) == [data, b"next"]


def test_a_wrapped_chain_key_opens_only_with_its_recipient_and_conversation(
    alice: RecipientPrivateKey, bob: RecipientPrivateKey
) -> None:
    chain_key = new_chain_key()
    wrapped = wrap_chain_key(chain_key, alice.public, CONV)
    assert unwrap_chain_key(wrapped, alice, CONV) == chain_key
    with pytest.raises(TranscriptUnreadable):
        unwrap_chain_key(wrapped, bob, CONV)  # wrong key
    with pytest.raises(TranscriptUnreadable):
        unwrap_chain_key(wrapped, alice, "OTHR-CASE")  # wrong info: another conversation
    for position in (0, len(wrapped) // 2, len(wrapped) - 1):
        flipped = bytearray(wrapped)
        flipped[position] ^= 0x01
        with pytest.raises(TranscriptUnreadable):
            unwrap_chain_key(bytes(flipped), alice, CONV)
    with pytest.raises(TranscriptUnreadable):
        unwrap_chain_key(wrapped[:-1], alice, CONV)  # truncated
    with pytest.raises(TranscriptUnreadable):
        unwrap_chain_key(b"", alice, CONV)


def test_rotation_wraps_the_same_chain_key_to_a_new_recipient(
    alice: RecipientPrivateKey, bob: RecipientPrivateKey
) -> None:
    chain_key = new_chain_key()
    blobs = _transcript(chain_key, [b"one", b"two"])
    for_alice = wrap_chain_key(chain_key, alice.public, CONV)
    for_bob = wrap_chain_key(unwrap_chain_key(for_alice, alice, CONV), bob.public, CONV)
    assert _read(unwrap_chain_key(for_bob, bob, CONV), blobs) == [b"one", b"two"]


def test_a_flipped_byte_anywhere_in_an_entry_is_detected() -> None:
    chain_key = new_chain_key()
    blobs = _transcript(chain_key, [b"first", b"second", b"third"])
    for position in range(len(blobs[1])):
        damaged = list(blobs)
        flipped = bytearray(damaged[1])
        flipped[position] ^= 0x80
        damaged[1] = bytes(flipped)
        with pytest.raises(TranscriptUnreadable, match="entry 1"):
            _read(chain_key, damaged)


def test_truncated_reordered_deleted_and_swapped_entries_are_detected() -> None:
    chain_key = new_chain_key()
    blobs = _transcript(chain_key, [b"a", b"b", b"c"])
    with pytest.raises(TranscriptUnreadable):
        _read(chain_key, [blobs[0], blobs[1][:-1], blobs[2]])  # truncated entry
    with pytest.raises(TranscriptUnreadable, match="entry 0"):
        _read(chain_key, [blobs[1], blobs[0], blobs[2]])  # reordered
    with pytest.raises(TranscriptUnreadable, match="entry 1"):
        _read(chain_key, [blobs[0], blobs[2]])  # the middle entry deleted
    other_key = new_chain_key()
    other = _transcript(other_key, [b"a", b"b", b"c"], conversation="OTHR-CASE")
    with pytest.raises(TranscriptUnreadable, match="entry 1"):
        _read(chain_key, [blobs[0], other[1], blobs[2]])  # an entry from another conversation
    # Even with the other conversation's key, its entry does not open in this one.
    with pytest.raises(TranscriptUnreadable):
        open_entry(other_key, CONV, 0, GENESIS, other[0])


def test_the_server_cannot_read_back_what_it_appended() -> None:
    """The server keeps only the newest chain key; it opens no entry already written."""
    chain_key = new_chain_key()
    blobs = _transcript(chain_key, [b"secret one", b"secret two"])
    latest = next_chain_key(next_chain_key(chain_key))
    previous = GENESIS
    for seq, blob in enumerate(blobs):
        with pytest.raises(TranscriptUnreadable):
            open_entry(latest, CONV, seq, previous, blob)
        previous = entry_digest(CONV, seq, previous, blob)


def test_private_key_file_round_trip_and_wrong_passphrase(alice: RecipientPrivateKey) -> None:
    data = alice.to_file_bytes("correct horse", n=2**14)
    assert alice.public.raw not in data and bytes(range(96)) not in data
    assert RecipientPrivateKey.from_file_bytes(data, "correct horse").public.raw == alice.public.raw
    with pytest.raises(TranscriptUnreadable, match="wrong passphrase"):
        RecipientPrivateKey.from_file_bytes(data, "wrong horse")
    with pytest.raises(TranscriptUnreadable, match="not an Accueil recipient key"):
        RecipientPrivateKey.from_file_bytes(b"{}", "correct horse")
    assert "***" in repr(alice) and bytes(range(96)).hex() not in repr(alice)


def test_a_public_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ConfigError):
        RecipientPublicKey(b"\x00" * 100)


def test_exactly_one_module_touches_cryptography_hazmat() -> None:
    from bot.app.settings import PROJECT_ROOT

    users = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("bot", "storage")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(from|import)\s+cryptography\b", path.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert users == ["storage/crypto.py"]
