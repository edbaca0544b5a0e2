"""The key store: one small file per case, beside the database, holding the case's shred key.

A database keeps old versions of its rows (SQLite's WAL, PostgreSQL's dead
tuples and WAL, every backup), so a key kept in a row cannot be destroyed. The
shred key lives here instead: every wrap of a case's private keys is sealed
under it, and `accueil purge` overwrites and deletes the file before it deletes
the rows, after which no recipient key opens anything of the case.

The directory is made 0700, each file 0600, written atomically (a temporary
file, fsync, rename). Sessions find their store through `session.info`
(`attach`); an unattached SQLite session uses ``keystore/`` beside its database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import ShredKey
from storage.errors import ConfigError, TranscriptUnreadable

DIRECTORY = "keystore"
_INFO = "accueil.keystore"
_CASE = re.compile(r"^[A-Z0-9-]{1,16}$")


class KeyStore:
    """Per-case shred keys in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"KeyStore({self.directory})"

    def _path(self, case: str) -> Path:
        if not _CASE.match(case):
            raise ConfigError(f"{case!r} is not a case reference")
        return self.directory / f"{case}.key"

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = self.directory.stat().st_mode & 0o777
        if mode != 0o700:
            os.chmod(self.directory, 0o700)

    def create(self, case: str) -> ShredKey:
        """A new shred key for `case`, on disk before it is used (an existing one is kept)."""
        path = self._path(case)
        if path.exists():
            return self.load(case)
        self._ensure_directory()
        key = ShredKey.generate()
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(key.raw) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        self._sync_directory()
        return key

    def load(self, case: str) -> ShredKey:
        key = self.find(case)
        if key is None:
            raise TranscriptUnreadable(
                f"the key of case {case} is not in {self.directory} (purged, or another data directory)"
            )
        return key

    def find(self, case: str) -> ShredKey | None:
        """The case's key, or None when it has none (one read of the file, no separate check)."""
        path = self._path(case)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TranscriptUnreadable(f"cannot read {path}: {exc.strerror}") from exc
        try:
            return ShredKey(base64.b64decode(data.strip(), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise TranscriptUnreadable(f"{path} does not hold a case key") from exc

    def destroy(self, case: str) -> bool:
        """Overwrite the case's key with random bytes, then delete it; False when there was none."""
        path = self._path(case)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return False
        with os.fdopen(fd, "r+b") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.write(secrets.token_bytes(max(size, 64)))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        self._sync_directory()
        return True

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def attach(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> None:
    """Sessions made by `sessions` use the key store of `data_dir`."""
    sessions.configure(info={_INFO: KeyStore(data_dir / DIRECTORY)})


def keystore_of(session: AsyncSession) -> KeyStore:
    """The key store that goes with this session's database."""
    store: Any = session.info.get(_INFO)
    if isinstance(store, KeyStore):
        return store
    bound: Any = getattr(session.bind, "url", None)
    url = make_url(str(bound)) if bound is not None else None
    if url is not None and url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        return KeyStore(Path(str(url.database)).parent / DIRECTORY)
    raise ConfigError("no key store for this database: set ACCUEIL_DATA_DIR to the bot's data directory")
