"""Sealing, signing and key files: the one module that imports `cryptography.hazmat`.

The server key (32 random bytes, in ``DATA_DIR/server.key`` with mode 0600, or ``ACCUEIL_SERVER_KEY``)
never leaves this module in clear. Subkeys are derived from it with HKDF-SHA256: a sealing key
(AES-256-GCM over an intake's working state, the chat address, queued messages; the associated data
names the blob's purpose and conversation), a pseudonym key (HMAC-SHA256 over channel user ids) and a
head key (HMAC-SHA256 over each transcript's head). Every failure to open is one `SealError`.
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

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from storage.digests import GENESIS as GENESIS  # noqa: PLC0414 (re-exported)
from storage.digests import b64 as _b64
from storage.digests import case_entry_digest as case_entry_digest  # noqa: PLC0414 (re-exported)
from storage.digests import case_entry_info as _case_entry_info
from storage.digests import entry_aad as _entry_aad
from storage.digests import entry_digest as entry_digest  # noqa: PLC0414 (re-exported)
from storage.digests import key_id_of as key_id_of  # noqa: PLC0414 (re-exported)
from storage.digests import unb64 as _unb64
from storage.errors import ConfigError, SealError, TranscriptUnreadable
from storage.files import private_directory
from storage.keyfile_bounds import scrypt_cost

_VERSION = b"\x01"
_NONCE = 12
KEY_FILE = "server.key"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"accueil/" + purpose).derive(master)


class ServerKey:
    """Seals and opens server-side data; makes keyed pseudonyms."""

    __slots__ = ("_head", "_pseudonym", "_seal")

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise ConfigError("the server key must be 32 bytes (base64 of 32 random bytes)")
        self._seal = AESGCM(_derive(master, b"seal/v1"))
        self._pseudonym = _derive(master, b"pseudonym/v1")
        self._head = _derive(master, b"transcript/head/v1")

    def head_mac(self, head: bytes) -> bytes:
        """HMAC-SHA256 over a transcript's head: the database alone cannot make one."""
        return hmac.new(self._head, head, hashlib.sha256).digest()

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


# --- transcripts, v1 (still read, no longer written): a chain key K0 wrapped with HPKE (ML-KEM-768 +
# X25519, HKDF-SHA256, AES-256-GCM) to each recipient; entry n sealed under a key from Kn; K(n+1) from Kn.

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_MLKEM_PUBLIC = 1184
_KEY_FORMAT = "accueil-recipient-key/v1"
#: scrypt cost for private key files: 2^17 x 8 x 128 bytes = 128 MiB of memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1


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
    """The secret half, held by caseworkers only: an X-Wing seed (32 bytes), or (older keys) the 96 it expands to."""

    __slots__ = ("_key", "_secret", "public")

    def __init__(self, secret: bytes) -> None:
        if len(secret) not in (32, 96):
            raise _unreadable("this is not a recipient private key")
        full = hashlib.shake_256(secret).digest(96) if len(secret) == 32 else secret  # ML-KEM's d || z, X25519
        mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(full[:64])
        x_key = x25519.X25519PrivateKey.from_private_bytes(full[64:])
        self._secret = secret
        self._key = hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key)
        self.public = RecipientPublicKey(
            mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
        )

    @classmethod
    def generate(cls) -> RecipientPrivateKey:
        return cls(secrets.token_bytes(32))

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def __repr__(self) -> str:
        return f"RecipientPrivateKey({self.key_id}, ***)"

    def to_file_bytes(self, passphrase: str, *, n: int = SCRYPT_N) -> bytes:
        """The private key encrypted under `passphrase` (scrypt, then AES-256-GCM)."""
        return _key_file(_KEY_FORMAT, self.key_id, self._secret, passphrase, n)

    @classmethod
    def from_file_bytes(cls, data: bytes, passphrase: str) -> RecipientPrivateKey:
        return cls(_open_key_file(data, _KEY_FORMAT, passphrase, "recipient"))


def _key_file(fmt: str, key_id: str, secret: bytes, passphrase: str, n: int) -> bytes:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())
    sealed = AESGCM(key).encrypt(nonce, secret, f"{fmt}|{key_id}".encode())
    doc = {
        "format": fmt,
        "key_id": key_id,
        "kdf": {"name": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "sealed": _b64(sealed),
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _open_key_file(data: bytes, fmt: str, passphrase: str, kind: str) -> bytes:
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != fmt:
            raise ValueError(f"not an {kind} key file")
        n, r, p = scrypt_cost(doc["kdf"])
        key = Scrypt(salt=_unb64(doc["kdf"]["salt"]), length=32, n=n, r=r, p=p).derive(passphrase.encode())
        return AESGCM(key).decrypt(_unb64(doc["nonce"]), _unb64(doc["sealed"]), f"{fmt}|{doc['key_id']}".encode())
    except InvalidTag as exc:
        raise _unreadable("wrong passphrase for this key file") from exc
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError) as exc:
        raise _unreadable(f"this file is not an Accueil {kind} key") from exc


class AssociationKey:
    """The association's signing key (Ed25519): it certifies recipient keys and is kept offline."""

    __slots__ = ("_key", "_seed", "public")
    FORMAT = "accueil-association-key/v1"

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise _unreadable("this is not an association key")
        self._seed, self._key = seed, ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self._key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> AssociationKey:
        return cls(secrets.token_bytes(32))

    def __repr__(self) -> str:
        return "AssociationKey(***)"

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def to_file_bytes(self, passphrase: str, key_id: str, *, n: int = SCRYPT_N) -> bytes:
        return _key_file(self.FORMAT, key_id, self._seed, passphrase, n)

    @classmethod
    def from_file_bytes(cls, data: bytes, passphrase: str) -> AssociationKey:
        return cls(_open_key_file(data, cls.FORMAT, passphrase, "association"))


def signature_valid(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the Ed25519 signature of `message` by `public` (never raises)."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


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


# --- transcripts, v2: at a case's opening and at every revocation, a fresh key pair; the public half is
# stored, the private half wrapped with HPKE to each certified recipient, sealed again under the case's
# shred key (in the key store, outside the database), and forgotten. Entries are sealed to the public half.

_V2 = b"\x02"


def new_case_key() -> RecipientPrivateKey:
    """A case key pair for one epoch; the caller wraps its private half and drops it."""
    return RecipientPrivateKey.generate()


class ShredKey:
    """A case's key in the key store: erasing it makes every wrap of the case's keys unreadable."""

    __slots__ = ("_bind", "_seal", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise _unreadable("a case's shred key is 32 bytes")
        self.raw = raw
        self._seal = AESGCM(_derive(raw, b"shred/seal/v2"))
        self._bind = _derive(raw, b"shred/bind/v2")

    @classmethod
    def generate(cls) -> ShredKey:
        return cls(secrets.token_bytes(32))

    def __repr__(self) -> str:
        return "ShredKey(***)"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return _V2 + nonce + self._seal.encrypt(nonce, plaintext, b"accueil/shred/v2|" + context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _V2:
            raise _unreadable()
        try:
            return self._seal.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], b"accueil/shred/v2|" + context.encode())
        except InvalidTag as exc:
            raise _unreadable() from exc

    def binding(self, case: str, epoch: int, public_raw: bytes) -> bytes:
        """A tag over an epoch's public key: a key swapped in the database (without this key) is refused."""
        return hmac.new(self._bind, f"{case}|{epoch}|".encode() + public_raw, hashlib.sha256).digest()


def _wrap_context(key_id: str, case: str, epoch: int, case_key_id: str) -> str:
    return f"accueil/case-key/v2|key={key_id}|case={case}|epoch={epoch}|public={case_key_id}"


def wrap_case_key(
    case_key: RecipientPrivateKey, recipient: RecipientPublicKey, shred: ShredKey, case: str, epoch: int
) -> bytes:
    """The epoch's private key, to one recipient (HPKE), then under the case's shred key."""
    context = _wrap_context(recipient.key_id, case, epoch, case_key.key_id)
    return shred.seal(_SUITE.encrypt(case_key._secret, recipient._key, info=context.encode()), context)


def unshred_case_key(wrapped: bytes, shred: ShredKey, key_id: str, case: str, epoch: int, public_raw: bytes) -> bytes:
    """A wrap without its shred layer: still HPKE to recipient `key_id`, for that recipient's browser."""
    return shred.open(wrapped, _wrap_context(key_id, case, epoch, key_id_of(public_raw)))


def unwrap_case_key(
    wrapped: bytes, recipient: RecipientPrivateKey, shred: ShredKey, case: str, epoch: int, public_raw: bytes
) -> RecipientPrivateKey:
    """The epoch's private key; it must match the epoch's stored public key."""
    context = _wrap_context(recipient.key_id, case, epoch, key_id_of(public_raw))
    try:
        secret = _SUITE.decrypt(shred.open(wrapped, context), recipient._key, info=context.encode())
    except (InvalidTag, ValueError) as exc:
        raise _unreadable() from exc
    case_key = RecipientPrivateKey(secret)
    if case_key.public.raw != public_raw:
        raise _unreadable()
    return case_key


def seal_case_entry(
    public: RecipientPublicKey, case: str, epoch: int, seq: int, previous: bytes, plaintext: bytes
) -> bytes:
    """Entry `seq`, sealed to the epoch's public key: only a holder of its private half opens it."""
    return _V2 + _SUITE.encrypt(plaintext, public._key, info=_case_entry_info(case, epoch, seq, previous))


def open_case_entry(key: RecipientPrivateKey, case: str, epoch: int, seq: int, previous: bytes, blob: bytes) -> bytes:
    if blob[:1] != _V2:
        raise _unreadable(f"entry {seq} is damaged")
    try:
        return _SUITE.decrypt(blob[1:], key._key, info=_case_entry_info(case, epoch, seq, previous))
    except (InvalidTag, ValueError) as exc:
        raise _unreadable(f"entry {seq} has been altered, moved or removed") from exc
