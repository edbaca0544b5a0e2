"""Revocations kept outside the database: `DATA_DIR/revoked-keys`, one key id a line (0600).

`accueil keys revoke` runs beside the data directory and writes the key id here as well as in the
key's row. Case keys are never wrapped to a key listed here, whatever its row says: someone who can
write the database but not the data directory cannot revive a revoked key by clearing `revoked_at`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.keystore import keystore_of

FILE = "revoked-keys"


def path_for(session: AsyncSession) -> Path:
    """Beside the key store, in the data directory that goes with this session's database."""
    return keystore_of(session).directory.parent / FILE


def revoked(session: AsyncSession) -> set[str]:
    try:
        text = path_for(session).read_text(encoding="ascii")
    except FileNotFoundError:
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def record(session: AsyncSession, key_id: str) -> None:
    """Add `key_id` to the list, durably, before the row says it."""
    path = path_for(session)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{key_id}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
