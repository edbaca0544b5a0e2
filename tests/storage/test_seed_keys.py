"""Recipient keys in the X-Wing seed form (32 bytes), beside the older 96-byte form: one key either way.

`accueil keys init` and every new case key now hold the 32-byte X-Wing seed; X-Wing expands it with
SHAKE256 to ML-KEM-768's seed (d || z) and the X25519 private key, the 96 bytes older key files hold.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bot.errors import TranscriptUnreadable
from storage import crypto
from storage.crypto import GENESIS, RecipientPrivateKey, ShredKey

VECTOR = json.loads((Path(__file__).parent.parent / "web" / "xwing_vector.json").read_text())
PASSPHRASE = "correct horse battery staple"


def test_the_x_wing_seed_gives_the_public_key_of_the_published_vector() -> None:
    seed = bytes.fromhex(VECTOR["sk"])
    assert RecipientPrivateKey(seed).public.raw.hex() == VECTOR["pk"]
    # ... and its expansion is exactly the 96-byte layout of older key files: the same key.
    expanded = hashlib.shake_256(seed).digest(96)
    assert RecipientPrivateKey(expanded).public.raw.hex() == VECTOR["pk"]


def test_new_keys_and_case_keys_are_seeds_and_open_what_was_sealed_to_them() -> None:
    key, case_key = RecipientPrivateKey.generate(), crypto.new_case_key()
    assert len(key._secret) == 32 and len(case_key._secret) == 32
    shred = ShredKey.generate()
    wrapped = crypto.wrap_case_key(case_key, key.public, shred, "K7QM-2XPA", 1)
    opened = crypto.unwrap_case_key(wrapped, key, shred, "K7QM-2XPA", 1, case_key.public.raw)
    blob = crypto.seal_case_entry(case_key.public, "K7QM-2XPA", 1, 0, GENESIS, b"said")
    assert crypto.open_case_entry(opened, "K7QM-2XPA", 1, 0, GENESIS, blob) == b"said"


@pytest.mark.parametrize("size", [32, 96])
def test_key_files_of_both_forms_open(size: int) -> None:
    secret = bytes(range(size))
    data = RecipientPrivateKey(secret).to_file_bytes(PASSPHRASE, n=2**14)
    opened = RecipientPrivateKey.from_file_bytes(data, PASSPHRASE)
    assert opened._secret == secret and opened.key_id == json.loads(data)["key_id"]


@pytest.mark.parametrize("size", [0, 31, 33, 64, 95, 97])
def test_a_secret_of_another_size_is_refused(size: int) -> None:
    with pytest.raises(TranscriptUnreadable, match="not a recipient private key"):
        RecipientPrivateKey(bytes(size))
