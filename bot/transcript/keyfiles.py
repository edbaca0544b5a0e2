"""Recipient key files on disk: the private key (passphrase-encrypted) and its public half."""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from bot.errors import ConfigError, TranscriptUnreadable
from bot.transcript import certificates
from storage.crypto import AssociationKey, RecipientPrivateKey, RecipientPublicKey

PUBLIC_FORMAT = "accueil-recipient-public/v1"
ASSOCIATION_PUBLIC_FORMAT = "accueil-association-public/v1"
PASSPHRASE_ENV = "ACCUEIL_KEY_PASSPHRASE"  # noqa: S105 - the name of the variable
MIN_PASSPHRASE = 12


def passphrase(*, confirm: bool, prompt: str = "Passphrase for the key: ") -> str:
    """From ACCUEIL_KEY_PASSPHRASE, or asked at the terminal (twice when creating a key)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise ConfigError(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}")
    try:
        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("Same passphrase again: ") != first:
            raise ConfigError("the two passphrases differ; nothing was written")
    except EOFError as exc:
        raise ConfigError(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV}") from exc
    return first


def write_private(path: Path, key: RecipientPrivateKey | AssociationKey, secret: str) -> None:
    """A private key file (0600, never over an existing file): a recipient's or the association's."""
    if len(secret) < MIN_PASSPHRASE:
        raise ConfigError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    if path.exists():
        raise ConfigError(f"{path} already exists; choose another file (an existing key is never overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        if isinstance(key, AssociationKey):
            handle.write(key.to_file_bytes(secret, association_id(key.public)))
        else:
            handle.write(key.to_file_bytes(secret))


def association_id(public: bytes) -> str:
    """The short id of an association key: the first 16 hex digits of its fingerprint."""
    return certificates.fingerprint(public)[:16]


def write_public(path: Path, key: RecipientPublicKey, label: str, certificate: str | None = None) -> None:
    """FILE.pub: the public half, its label and, once certified, the association's certificate."""
    doc: dict[str, object] = {
        "format": PUBLIC_FORMAT,
        "key_id": key.key_id,
        "label": label,
        "public": base64.b64encode(key.raw).decode(),
    }
    if certificate is not None:
        doc["certificate"] = json.loads(certificate)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def write_association_public(path: Path, key: AssociationKey, label: str, fingerprint: str) -> None:
    doc = {"format": ASSOCIATION_PUBLIC_FORMAT, "label": label, "fingerprint": fingerprint, "public": _b64(key.public)}
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def public_certificate(path: Path) -> str | None:
    """The certificate a FILE.pub carries (as stored in the database), or None."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not an Accueil public key file (.pub)") from exc
    found = doc.get("certificate") if isinstance(doc, dict) else None
    return json.dumps(found, sort_keys=True) if isinstance(found, dict) else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


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


#: A key file is a few hundred bytes; anything much larger is not one (and is not read whole).
MAX_KEY_FILE = 65536


def read_private(path: Path) -> RecipientPrivateKey:
    """A private key file, refused when others may read it or when it is not a key file (one line each)."""
    return RecipientPrivateKey.from_file_bytes(_private_bytes(path, "recipient"), passphrase(confirm=False))


def read_association(path: Path) -> AssociationKey:
    """The association's private key file, with the same checks as a recipient's."""
    data = _private_bytes(path, "association")
    secret = passphrase(confirm=False, prompt="Passphrase for the association key: ")
    return AssociationKey.from_file_bytes(data, secret)


def _private_bytes(path: Path, kind: str) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise TranscriptUnreadable(f"{path} is not an Accueil {kind} key file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"the key file {path} is open to other users (mode {mode:o}); run: chmod 600 {path}"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise TranscriptUnreadable(f"cannot read the key file {path}: {exc.strerror}") from exc
    if len(data) > MAX_KEY_FILE:
        raise TranscriptUnreadable(f"{path} is not an Accueil {kind} key file (too large)")
    return data


#: The format line as `accueil keys init` writes it; the scan finds the format name however it is spaced.
PRIVATE_MARKER = b'"format": "accueil-recipient-key/v1"'
_FORMAT_PREFIXES = ("accueil-recipient-key", "accueil-association-key")
#: The scan reads regular files up to this size; a key file is a few hundred bytes.
SCAN_LIMIT = 1 << 20
#: SQLite's companions of a database file.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def looks_like_private_key(data: bytes) -> bool:
    """Whether `data` is a private key file (a recipient's or the association's), as written or as any JSON."""
    if any(prefix.encode() in data for prefix in _FORMAT_PREFIXES):
        return True
    try:
        doc = json.loads(data)  # any spacing, escapes like \u0061, UTF-16 or UTF-32
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and str(doc.get("format", "")).startswith(_FORMAT_PREFIXES)


def private_keys_under(directory: Path, databases: Iterable[Path] = ()) -> list[Path]:
    """Recipient private key files lying in `directory` (where the bot must not find any), found by content.

    Every regular file up to `SCAN_LIMIT` is read, whatever its name, except the files of a live
    database: those of `databases` (by default `directory/accueil.db`) with their -wal, -shm and
    -journal, and any file this process holds open. Closing any descriptor of a file drops every
    POSIX lock this process holds on it, and SQLite's lock on the -shm file is what stops another
    process (an operator's `accueil cases list`, say) from resetting the shared memory under the
    bot, which then dies of SIGBUS. Files are told apart by device and inode, not by name.
    """
    found: list[Path] = []
    if not directory.is_dir():
        return found
    never_open = _open_in_this_process() | _identities(_live_files(directory, databases))
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(folder) / name
            try:
                info = path.stat()
                if not stat.S_ISREG(info.st_mode) or info.st_size > SCAN_LIMIT:
                    continue
                if (info.st_dev, info.st_ino) in never_open:
                    continue
                if looks_like_private_key(path.read_bytes()):
                    found.append(path)
            except OSError:
                continue
    return sorted(found)


def _live_files(directory: Path, databases: Iterable[Path]) -> list[Path]:
    bases = list(databases) or [directory / "accueil.db"]
    return [base.with_name(base.name + suffix) for base in bases for suffix in ("", *SQLITE_COMPANIONS)]


def _identities(paths: Iterable[Path]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        out.add((info.st_dev, info.st_ino))
    return out


def _open_in_this_process() -> set[tuple[int, int]]:
    """Device and inode of every file this process has open (from /proc/self/fd; fstat opens nothing)."""
    out: set[tuple[int, int]] = set()
    for where in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            try:
                info = os.fstat(int(name))
            except (OSError, ValueError):
                continue
            out.add((info.st_dev, info.st_ino))
        break
    return out
