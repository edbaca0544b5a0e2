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
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.errors import ConfigError, SealError

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
        data_dir.mkdir(parents=True, exist_ok=True)
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
