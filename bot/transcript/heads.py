"""Transcript heads: where a transcript ends (next sequence number, last digest; the last entry's epoch is
bound in that digest), authenticated two ways.

- The server's MAC: the bot writes an HMAC under the server key over each head (`seal`). Someone who can
  write the database but does not hold the server key cannot set a head back (removing the last entries)
  and leave a MAC that holds; `accueil transcript show`, which runs beside the server key, checks it.
  It does not stop a whole case being put back as it was at an earlier copy (rows and MAC together).
- The reader's memory: `KEYFILE.heads` (0600, beside the reader's key file) keeps the newest head each
  case had when this reader read it; a later read that shows fewer entries, or other entries, is reported.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage import transcripts as repo
from storage.crypto import ServerKey
from storage.digests import GENESIS
from storage.models import Transcript

SUFFIX = ".heads"
#: In the data directory, once every head written before heads had a MAC has one: from then on a
#: head without a MAC is never sealed again (a database writer could otherwise clear one to have it
#: sealed as they left it).
SEALED_MARKER = "heads-sealed"


def head_bytes(case: str, next_seq: int, last_digest: bytes) -> bytes:
    return f"accueil/head/v1|{case}|{next_seq}|".encode() + last_digest


def seal(keys: ServerKey, case: str, state: Transcript) -> None:
    """Put the server's MAC on the transcript's head as it now stands."""
    state.head_mac = keys.head_mac(head_bytes(case, state.next_seq, state.last_digest))


def server_problem(keys: ServerKey, case: str, state: Transcript) -> str | None:
    """One line if the head's MAC does not hold (the head was set back or written by someone else)."""
    expected = keys.head_mac(head_bytes(case, state.next_seq, state.last_digest))
    if state.head_mac is not None and hmac.compare_digest(expected, state.head_mac):
        return None
    return (
        f"case {case}: the transcript's head ({state.next_seq} entries) does not carry the server's MAC: "
        "it was set back in the database, and entries after the last one shown may have been removed"
    )


async def seal_old_heads(session: AsyncSession, keys: ServerKey, data_dir: Path) -> int:
    """Once per data directory: put a MAC on every head that has none; returns how many."""
    marker = data_dir / SEALED_MARKER
    if marker.exists():
        return 0
    found = await repo.unsealed_heads(session)
    for state, case in found:
        seal(keys, case, state)
    await session.commit()
    marker.write_text("every transcript head written before heads had a MAC now has one\n", encoding="utf-8")
    return len(found)


def memory_of(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + SUFFIX)


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def reader_problem(key_file: Path, case: str, chain: list[bytes]) -> str | None:
    """Compare what was read (`chain`: the digest after each entry) with the newest head this reader saw
    of `case`; remember the newer of the two. One line if the transcript is shorter or different."""
    path = memory_of(key_file)
    heads = _load(path)
    seen: Any = heads.get(case)
    problem = None
    if isinstance(seen, dict) and isinstance(seen.get("entries"), int) and isinstance(seen.get("digest"), str):
        count, digest = seen["entries"], seen["digest"]
        if count > len(chain):
            problem = (
                f"case {case}: {count - len(chain)} entries are missing since this key last read it "
                f"({count} entries then, {len(chain)} now): the transcript was cut or rolled back"
            )
        elif (chain[count - 1] if count else GENESIS).hex() != digest:
            problem = f"case {case}: the transcript differs from the one this key read before: it was rewritten"
        if problem is not None:
            return problem  # the newer head stays remembered
    heads[case] = {"entries": len(chain), "digest": (chain[-1] if chain else GENESIS).hex()}
    try:
        _save(path, heads)
    except OSError as exc:
        return f"case {case}: its head could not be remembered in {path}: {exc.strerror}"
    return None


def _save(path: Path, heads: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(heads, handle, indent=1, sort_keys=True)
    os.replace(partial, path)
