"""Recipient key files on disk: the private key (passphrase-encrypted) and its public half."""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import sys
from pathlib import Path

from bot.errors import ConfigError, TranscriptUnreadable
from storage.crypto import RecipientPrivateKey, RecipientPublicKey

PUBLIC_FORMAT = "accueil-recipient-public/v1"
PRIVATE_MARKER = b'"format": "accueil-recipient-key/v1"'
PASSPHRASE_ENV = "ACCUEIL_KEY_PASSPHRASE"  # noqa: S105 - the name of the variable
MIN_PASSPHRASE = 12


def passphrase(*, confirm: bool) -> str:
    """From ACCUEIL_KEY_PASSPHRASE, or asked at the terminal (twice when creating a key)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise ConfigError(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}")
    try:
        first = getpass.getpass("Passphrase for the key: ")
        if confirm and getpass.getpass("Same passphrase again: ") != first:
            raise ConfigError("the two passphrases differ; nothing was written")
    except EOFError as exc:
        raise ConfigError(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}") from exc
    return first


def write_private(path: Path, key: RecipientPrivateKey, secret: str) -> None:
    if len(secret) < MIN_PASSPHRASE:
        raise ConfigError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    if path.exists():
        raise ConfigError(f"{path} already exists; choose another file (an existing key is never overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.to_file_bytes(secret))


def write_public(path: Path, key: RecipientPublicKey, label: str) -> None:
    doc = {"format": PUBLIC_FORMAT, "key_id": key.key_id, "label": label, "public": base64.b64encode(key.raw).decode()}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def read_public(path: Path) -> tuple[RecipientPublicKey, str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != PUBLIC_FORMAT:
            raise ValueError(doc.get("format"))
        return RecipientPublicKey(base64.b64decode(doc["public"], validate=True)), str(doc.get("label", ""))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"{path} is not an Accueil public key file (.pub)") from exc


def read_private(path: Path) -> RecipientPrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptUnreadable(f"cannot read the key file {path}: {exc.strerror}") from exc
    return RecipientPrivateKey.from_file_bytes(data, passphrase(confirm=False))


#: SQLite's database, journal, WAL and shared-memory files, which the key scan leaves alone.
SQLITE_FILES = (".db", ".db-journal", ".db-wal", ".db-shm", ".sqlite", "-journal", "-wal", "-shm")


def private_keys_under(directory: Path) -> list[Path]:
    """Recipient private key files lying in `directory` (where the bot must not find any)."""
    found: list[Path] = []
    if not directory.exists():
        return found
    for path in directory.rglob("*"):
        if path.name.endswith(SQLITE_FILES):
            # Never open a live database's files: closing any descriptor of a file drops every POSIX lock
            # this process holds on it, and SQLite's lock on the -shm file is what stops another process
            # (an operator's `accueil cases list`, say) from resetting the shared memory under the bot,
            # which then dies of SIGBUS.
            continue
        try:
            if path.is_file() and path.stat().st_size < 65536 and PRIVATE_MARKER in path.read_bytes()[:4096]:
                found.append(path)
        except OSError:
            continue
    return sorted(found)
