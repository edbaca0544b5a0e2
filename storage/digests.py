"""Key ids, entry digests and base64: what the transcript formats compute without a secret."""

from __future__ import annotations

import base64
import hashlib

#: What the first entry of a transcript binds to.
GENESIS = b"\x00" * 32


def key_id_of(public_raw: bytes) -> str:
    """A short, stable id for a public key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(b"accueil/key-id/v1|" + public_raw).hexdigest()[:16]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def entry_aad(conversation: str, seq: int, previous: bytes) -> bytes:
    return f"accueil/entry/v1|{conversation}|{seq}|".encode() + previous


def entry_digest(conversation: str, seq: int, previous: bytes, blob: bytes) -> bytes:
    """v1: what the next entry binds to: this entry's place and ciphertext."""
    return hashlib.sha256(entry_aad(conversation, seq, previous) + blob).digest()


def case_entry_info(case: str, epoch: int, seq: int, previous: bytes) -> bytes:
    return f"accueil/entry/v2|{case}|{epoch}|{seq}|".encode() + previous


def case_entry_digest(case: str, epoch: int, seq: int, previous: bytes, blob: bytes) -> bytes:
    """v2: what the next entry binds to: this entry's case, epoch, place and ciphertext."""
    return hashlib.sha256(case_entry_info(case, epoch, seq, previous) + blob).digest()
