"""Sealing under the server key: the one module that imports `cryptography.hazmat`.

The server key (32 random bytes, in ``DATA_DIR/server.key`` with mode 0600, or
``ACCUEIL_SERVER_KEY``) never leaves this module in clear. Two subkeys are
derived from it with HKDF-SHA256:

- a sealing key: AES-256-GCM over the working state of an intake, the chat
  address replies go to, and queued outgoing messages; the associated data
  names what the blob is and which conversation it belongs to, so a blob moved
  to another row or purpose does not open;
- a pseudonym key: HMAC-SHA256 over channel user ids, so a conversation can be
  found again without the database holding a Telegram id in clear.

Every failure to open is one `SealError`, whatever the cause.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.errors import ConfigError, SealError, TranscriptUnreadable
from storage.files import private_directory

_VERSION = b"\x01"
_NONCE = 12
KEY_FILE = "server.key"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"accueil/" + purpose).derive(master)


class ServerKey:
    """Seals and opens server-side data; makes keyed pseudonyms."""

    __slots__ = ("_pseudonym", "_seal")

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ConfigError("the server key must be 32 bytes (base64 of 32 random bytes)")
        self._seal = AESGCM(_derive(master, b"seal/v1"))
        self._pseudonym = _derive(master, b"pseudonym/v1")

    def __repr__(self) -> str:
        return "ServerKey(***)"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + nonce + self._seal.encrypt(nonce, plaintext, _aad(context))

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise SealError("sealed data cannot be opened")
        try:
            return self._seal.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], _aad(context))
        except InvalidTag as exc:
            raise SealError("sealed data cannot be opened") from exc

    def pseudonym(self, kind: str, value: str) -> str:
        """A stable, keyed stand-in for an identifier (e.g. a Telegram user id)."""
        mac = hmac.new(self._pseudonym, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]


def _aad(context: str) -> bytes:
    return b"accueil/v1/" + context.encode()


def load_server_key(data_dir: Path, env_value: str | None, *, create: bool) -> ServerKey:
    """The server key from the environment, or from the data directory.

    With `create`, a missing key file is made (0600). A key file readable by
    others is refused: the operator is told how to fix it.
    """
    if env_value:
        try:
            return ServerKey(base64.b64decode(env_value, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ConfigError("ACCUEIL_SERVER_KEY must be base64 of 32 random bytes") from exc
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise ConfigError(f"no server key at {path}; run `accueil db upgrade` first or set ACCUEIL_SERVER_KEY")
        private_directory(data_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    try:
        return ServerKey(base64.b64decode(path.read_bytes().strip(), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{path} does not hold a server key (base64 of 32 bytes)") from exc


# --- transcripts: readable only by the association's recipient keys -------------
#
# Each conversation has a random 32-byte *chain key* K0. Entry n is sealed with
# AES-256-GCM under a key derived from Kn, and K(n+1) is derived from Kn; the
# server keeps only the newest chain key (sealed under the server key), so it
# can append but cannot derive the key of any entry already written. K0 is
# wrapped with HPKE (RFC 9180; ML-KEM-768 + X25519, HKDF-SHA256, AES-256-GCM)
# to every active recipient key, with the key id and conversation bound
# through HPKE `info`. Every entry's associated data carries the conversation,
# its sequence number and the previous entry's digest, so a deleted, reordered,
# altered or swapped entry fails to open. Every failure is `TranscriptUnreadable`.

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_MLKEM_PUBLIC = 1184
_KEY_FORMAT = "accueil-recipient-key/v1"
GENESIS = b"\x00" * 32
#: scrypt cost for private key files: 2^17 x 8 x 128 bytes = 128 MiB of memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
#: What a key file may ask for, read before any work is done: at least 16 MiB of memory per guess
#: (n = 2^14, r = 8), at most 1 GiB (128 x n x r bytes: 2^20 x 8, a few seconds) and 4 passes; n a power of two.
SCRYPT_N_RANGE, SCRYPT_R_RANGE, SCRYPT_P_RANGE = (2**14, 2**20), (8, 16), (1, 4)
SCRYPT_MAX_MEMORY = 2**30


def _unreadable(what: str = "the transcript cannot be read with this key") -> TranscriptUnreadable:
    return TranscriptUnreadable(what)


class RecipientPublicKey:
    """A caseworker's or the association's public key, as registered in the database."""

    __slots__ = ("_key", "key_id", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != _MLKEM_PUBLIC + 32:
            raise ConfigError("a recipient public key is 1216 bytes (ML-KEM-768 then X25519)")
        self.raw = raw
        self.key_id = key_id_of(raw)
        self._key = hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM_PUBLIC]),
            x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM_PUBLIC:]),
        )

    def __repr__(self) -> str:
        return f"RecipientPublicKey({self.key_id})"


class RecipientPrivateKey:
    """The secret half; held by caseworkers only, never by the bot process."""

    __slots__ = ("_key", "_secret", "public")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 96:
            raise _unreadable("this is not a recipient private key")
        mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(secret[:64])
        x_key = x25519.X25519PrivateKey.from_private_bytes(secret[64:])
        self._secret = secret
        self._key = hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key)
        self.public = RecipientPublicKey(
            mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
        )

    @classmethod
    def generate(cls) -> RecipientPrivateKey:
        return cls(secrets.token_bytes(96))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def __repr__(self) -> str:
        return f"RecipientPrivateKey({self.key_id}, ***)"

    def to_file_bytes(self, passphrase: str, *, n: int = SCRYPT_N) -> bytes:
        """The private key encrypted under `passphrase` (scrypt, then AES-256-GCM)."""
        salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
        key = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())
        sealed = AESGCM(key).encrypt(nonce, self._secret, f"{_KEY_FORMAT}|{self.key_id}".encode())
        doc = {
            "format": _KEY_FORMAT,
            "key_id": self.key_id,
            "kdf": {"name": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
            "nonce": _b64(nonce),
            "sealed": _b64(sealed),
        }
        return (json.dumps(doc, indent=2) + "\n").encode()

    @classmethod
    def from_file_bytes(cls, data: bytes, passphrase: str) -> RecipientPrivateKey:
        try:
            doc = json.loads(data)
            if not isinstance(doc, dict) or doc.get("format") != _KEY_FORMAT:
                raise ValueError("not a recipient key file")
            n, r, p = _scrypt_cost(doc["kdf"])
            key = Scrypt(salt=_unb64(doc["kdf"]["salt"]), length=32, n=n, r=r, p=p).derive(passphrase.encode())
            secret = AESGCM(key).decrypt(
                _unb64(doc["nonce"]), _unb64(doc["sealed"]), f"{_KEY_FORMAT}|{doc['key_id']}".encode()
            )
        except InvalidTag as exc:
            raise _unreadable("wrong passphrase for this key file") from exc
        except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as exc:
            raise _unreadable("this file is not an Accueil recipient key") from exc
        return cls(secret)


def _scrypt_cost(kdf: object) -> tuple[int, int, int]:
    """The scrypt parameters of a key file, refused unless within the bounds above (before any work)."""
    if not isinstance(kdf, dict) or kdf.get("name", "scrypt") != "scrypt":
        raise ValueError("not scrypt")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (type(n) is int and type(r) is int and type(p) is int):  # not a bool, a float or a string
        raise ValueError("scrypt parameters must be whole numbers")
    bounds = ((n, SCRYPT_N_RANGE), (r, SCRYPT_R_RANGE), (p, SCRYPT_P_RANGE))
    outside = any(not low <= value <= high for value, (low, high) in bounds)
    if outside or n & (n - 1) or 128 * n * r > SCRYPT_MAX_MEMORY:
        raise _unreadable(
            "this key file asks for a scrypt cost outside what Accueil accepts (n a power of two from 2^14 to 2^20, "
            "r from 8 to 16, p from 1 to 4, at most 1 GiB): it was not written by `accueil keys init`"
        )
    return n, r, p


def key_id_of(public_raw: bytes) -> str:
    """A short, stable id for a public key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(b"accueil/key-id/v1|" + public_raw).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _info(key_id: str, conversation: str) -> bytes:
    return f"accueil/transcript/v1|key={key_id}|conversation={conversation}".encode()


def new_chain_key() -> bytes:
    return secrets.token_bytes(32)


def wrap_chain_key(chain_key: bytes, recipient: RecipientPublicKey, conversation: str) -> bytes:
    """K0 encrypted to one recipient; only that recipient's private key opens it."""
    return _SUITE.encrypt(chain_key, recipient._key, info=_info(recipient.key_id, conversation))


def unwrap_chain_key(wrapped: bytes, recipient: RecipientPrivateKey, conversation: str) -> bytes:
    try:
        return _SUITE.decrypt(wrapped, recipient._key, info=_info(recipient.key_id, conversation))
    except (InvalidTag, ValueError) as exc:
        raise _unreadable() from exc


def _entry_key(chain_key: bytes) -> bytes:
    return _derive(chain_key, b"transcript/entry/v1")


def next_chain_key(chain_key: bytes) -> bytes:
    """K(n+1) from Kn: one way, so a later key cannot recover an earlier one."""
    return _derive(chain_key, b"transcript/chain/v1")


def _entry_aad(conversation: str, seq: int, previous: bytes) -> bytes:
    return f"accueil/entry/v1|{conversation}|{seq}|".encode() + previous


def entry_digest(conversation: str, seq: int, previous: bytes, blob: bytes) -> bytes:
    """What the next entry binds to: this entry's place and ciphertext."""
    return hashlib.sha256(_entry_aad(conversation, seq, previous) + blob).digest()


def seal_entry(
    chain_key: bytes, conversation: str, seq: int, previous: bytes, plaintext: bytes, *, nonce: bytes | None = None
) -> bytes:
    """Seal entry `seq` under the key of `chain_key` (Kseq). `nonce` is for known-answer tests only."""
    nonce = nonce if nonce is not None else secrets.token_bytes(_NONCE)
    return (
        _VERSION
        + nonce
        + AESGCM(_entry_key(chain_key)).encrypt(nonce, plaintext, _entry_aad(conversation, seq, previous))
    )


def open_entry(chain_key: bytes, conversation: str, seq: int, previous: bytes, blob: bytes) -> bytes:
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise _unreadable(f"entry {seq} is damaged")
    try:
        return AESGCM(_entry_key(chain_key)).decrypt(
            blob[1 : 1 + _NONCE], blob[1 + _NONCE :], _entry_aad(conversation, seq, previous)
        )
    except InvalidTag as exc:
        raise _unreadable(f"entry {seq} has been altered, moved or removed") from exc
