"""An attacker with a copy of the data directory: every row version in every file, tried against every key.

SQLite keeps old versions of a page in its WAL (until a checkpoint truncates
it) and, without `secure_delete`, in free space. This reads every page image
in the copy (the database file, every WAL frame of any generation, the rollback
journal), decodes every table-leaf cell into a record, and sorts the records by
their shape into what the schema stores: cases, transcript entries, epoch
public keys, wrapped keys (v1 and v2) and transcript states. Then it tries
every key it can find (the server key, the key store's shred keys, any
recipient private key it is handed, and whatever those open) on every blob,
as an attacker who has read the source would.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import SealError, TranscriptUnreadable
from storage import crypto
from storage.crypto import GENESIS, RecipientPrivateKey, ServerKey, ShredKey
from storage.sealed import Sealed

_CASE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")
Value = int | float | bytes | str | None


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = 0
    for k in range(9):
        byte = buf[i + k]
        if k == 8:
            return (value << 8) | byte, i + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + k + 1
    raise ValueError("varint")


def _record(payload: bytes) -> list[Value]:
    header, i = _varint(payload, 0)
    types = []
    while i < header:
        serial, i = _varint(payload, i)
        types.append(serial)
    values: list[Value] = []
    at = header
    sizes = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}
    for serial in types:
        if serial in sizes:
            n = sizes[serial]
            values.append(int.from_bytes(payload[at : at + n], "big", signed=True))
            at += n
        elif serial == 7:
            values.append(struct.unpack(">d", payload[at : at + 8])[0])
            at += 8
        elif serial in (0, 8, 9):
            values.append(None if serial == 0 else serial - 8)
        elif serial >= 12:
            n = (serial - 12) // 2
            raw = payload[at : at + n]
            values.append(raw if serial % 2 == 0 else raw.decode("utf-8", "replace"))
            at += n
        else:
            raise ValueError("serial type")
    return values


def _leaf_records(page: bytes, offset: int) -> Iterator[tuple[int, list[Value]]]:
    if len(page) < offset + 8 or page[offset] != 0x0D:
        return
    cells = struct.unpack(">H", page[offset + 3 : offset + 5])[0]
    for c in range(cells):
        try:
            pointer = struct.unpack(">H", page[offset + 8 + 2 * c : offset + 10 + 2 * c])[0]
            size, i = _varint(page, pointer)
            rowid, i = _varint(page, i)
            yield rowid, _record(page[i : i + size])
        except (ValueError, IndexError, struct.error):
            continue


def page_images(directory: Path) -> Iterator[tuple[bytes, int]]:
    """Every page image in a copy of the data directory, with its b-tree header offset."""
    for database in directory.glob("*.db"):
        data = database.read_bytes()
        if len(data) < 100:
            continue
        size = struct.unpack(">H", data[16:18])[0] or 65536
        for number, start in enumerate(range(0, len(data), size)):
            yield data[start : start + size], 100 if number == 0 else 0
        wal = database.with_name(database.name + "-wal")
        if wal.exists():
            log = wal.read_bytes()
            for start in range(32 + 24, len(log), size + 24):
                yield log[start : start + size], 0
        journal = database.with_name(database.name + "-journal")
        if journal.exists():
            raw = journal.read_bytes()
            for start in range(0, len(raw), 512):  # page images sit after a 4-byte page number
                yield raw[start + 4 : start + 4 + size], 0


@dataclass
class Loot:
    cases: dict[int, str] = field(default_factory=dict)
    entries: set[tuple[int, int, int, bytes]] = field(default_factory=set)  # conversation, seq, epoch, sealed
    publics: set[tuple[int, int, bytes]] = field(default_factory=set)  # conversation, epoch, public key
    wraps: set[tuple[int, int, str, bytes]] = field(default_factory=set)  # conversation, epoch, key id, wrapped
    v1_wraps: set[tuple[int, str, bytes]] = field(default_factory=set)
    blobs: set[bytes] = field(default_factory=set)


def loot(directory: Path) -> Loot:
    found = Loot()
    for page, offset in page_images(directory):
        for rowid, values in _leaf_records(page, offset):
            _sort(found, rowid, values)
    tuples = directory / PG_TUPLES
    if tuples.exists():
        for table, values in json.loads(tuples.read_text()):
            _sort_table(found, table, [_unjson(v) for v in values])
    return found


def _sort_table(found: Loot, table: str, v: list[Value]) -> None:
    """A PostgreSQL tuple, whose table is known; columns in the order the migrations made them."""
    found.blobs.update(x for x in v if isinstance(x, bytes) and len(x) >= 16)
    if table == "conversations" and isinstance(v[0], int) and isinstance(v[1], str):
        found.cases[v[0]] = v[1]
    elif table == "transcript_entries" and all(x is not None for x in v):
        found.entries.add((int(v[0]), int(v[1]), int(v[3]), bytes(v[2])))  # type: ignore[arg-type]
    elif table == "transcript_epochs" and all(x is not None for x in v[:3]):
        found.publics.add((int(v[0]), int(v[1]), bytes(v[2])))  # type: ignore[arg-type]
    elif table == "transcript_epoch_keys" and all(x is not None for x in v):
        found.wraps.add((int(v[0]), int(v[1]), str(v[2]), bytes(v[3])))  # type: ignore[arg-type]
    elif table == "transcript_keys" and all(x is not None for x in v):
        found.v1_wraps.add((int(v[0]), str(v[1]), bytes(v[2])))  # type: ignore[arg-type]


# --- PostgreSQL: every tuple on every page, live or dead, read with pageinspect ------------------

PG_TUPLES = "pg-tuples.json"
PG_TABLES = (
    "conversations",
    "transcripts",
    "transcript_keys",
    "transcript_entries",
    "transcript_epochs",
    "transcript_epoch_keys",
    "outbox",
    "parked_updates",
)


def _unjson(value: object) -> Value:
    if isinstance(value, dict):
        return bytes.fromhex(str(value["hex"]))
    return value  # type: ignore[return-value]


def _varlena(datum: bytes, toast: dict[int, bytes]) -> bytes | None:
    if datum[0] == 0x01:  # a pointer to the TOAST table: tag, raw size, external size, value id, relation
        value_id = struct.unpack("<I", datum[10:14])[0]
        return toast.get(value_id)
    if datum[0] & 0x01:  # a one-byte header
        return datum[1 : datum[0] >> 1]
    if datum[0] & 0x02:  # compressed in line: not what sealed data turns into
        return None
    return datum[4 : struct.unpack("<I", datum[:4])[0] >> 2]


def _datum(datum: bytes | None, kind: str, toast: dict[int, bytes]) -> object:
    if datum is None:
        return None
    if kind in ("integer", "bigint"):
        return int.from_bytes(datum, "little", signed=True)
    if kind in ("bytea", "character varying", "text"):
        raw = _varlena(datum, toast)
        if raw is None:
            return None
        return {"hex": raw.hex()} if kind == "bytea" else raw.decode("utf-8", "replace")
    return None


async def dump_postgres(connection: Any, to: Path) -> None:
    """Every tuple version of the tables that matter, as `heap_page_item_attrs` shows them (dead ones too)."""
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    rows: list[tuple[str, list[object]]] = []
    for table in PG_TABLES:
        toast = await _toast(connection, table)
        columns = await connection.fetch(
            "SELECT format_type(atttypid, NULL) AS kind FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            table,
        )
        for record in await _tuples(connection, table):
            rows.append((table, [_datum(d, c["kind"], toast) for d, c in zip(record, columns, strict=False)]))
    to.write_text(json.dumps(rows))  # noqa: ASYNC240 (a test's dump, after the database work)


async def _tuples(connection: Any, relation: str) -> list[list[bytes | None]]:
    pages = await connection.fetchval(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int", relation
    )
    out = []
    for block in range(int(pages)):
        found = await connection.fetch(
            "SELECT t_attrs FROM heap_page_item_attrs(get_raw_page($1, $2), $1::regclass) WHERE t_attrs IS NOT NULL",
            relation,
            block,
        )
        out.extend([list(r["t_attrs"]) for r in found])
    return out


async def _toast(connection: Any, table: str) -> dict[int, bytes]:
    relation = await connection.fetchval(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = $1::regclass AND reltoastrelid <> 0", table
    )
    if relation is None:
        return {}
    chunks: dict[int, dict[int, bytes]] = {}
    for chunk_id, chunk_seq, data in await _tuples(connection, relation):
        if chunk_id is None or chunk_seq is None or data is None:
            continue
        raw = _varlena(data, {})
        if raw is not None:
            chunks.setdefault(struct.unpack("<I", chunk_id)[0], {})[struct.unpack("<i", chunk_seq)[0]] = raw
    return {value_id: b"".join(part for _, part in sorted(parts.items())) for value_id, parts in chunks.items()}


def _sort(found: Loot, rowid: int, v: list[Value]) -> None:
    found.blobs.update(x for x in v if isinstance(x, bytes) and len(x) >= 16)
    kinds = tuple(type(x).__name__ for x in v)
    if len(v) > 3 and v[0] is None and isinstance(v[1], str) and _CASE.match(v[1]) and v[2] == "telegram":
        found.cases[rowid] = v[1]
    elif kinds == ("int", "int", "bytes", "int"):
        found.entries.add((int(v[0]), int(v[1]), int(v[3]), bytes(v[2])))  # type: ignore[arg-type]
    elif kinds[:4] == ("int", "int", "bytes", "bytes") and len(v[2]) == 1216:  # type: ignore[arg-type]
        found.publics.add((int(v[0]), int(v[1]), bytes(v[2])))  # type: ignore[arg-type]
    elif kinds == ("int", "int", "str", "bytes"):
        found.wraps.add((int(v[0]), int(v[1]), str(v[2]), bytes(v[3])))  # type: ignore[arg-type]
    elif kinds == ("int", "str", "bytes"):
        found.v1_wraps.add((int(v[0]), str(v[1]), bytes(v[2])))  # type: ignore[arg-type]


def shred_keys(directory: Path) -> list[ShredKey]:
    keys = []
    for path in (directory / "keystore").glob("*") if (directory / "keystore").exists() else []:
        try:
            keys.append(ShredKey(base64.b64decode(path.read_bytes().strip())))
        except (ValueError, TranscriptUnreadable):
            continue
    return keys


def _server_plaintexts(found: Loot, server: ServerKey) -> set[bytes]:
    contexts = [kind.of(case) for case in found.cases.values() for kind in Sealed]
    out = set()
    for blob in found.blobs:
        if blob[:1] != b"\x01":
            continue
        for context in contexts:
            try:
                out.add(server.open(blob, context))
            except SealError:
                continue
    return out


def _case_keys(
    found: Loot, shreds: list[ShredKey], recipients: list[RecipientPrivateKey]
) -> dict[tuple[int, int], list[RecipientPrivateKey]]:
    keys: dict[tuple[int, int], list[RecipientPrivateKey]] = {}
    for conversation, epoch, key_id, wrapped in found.wraps:
        case = found.cases.get(conversation)
        for recipient in (r for r in recipients if r.key_id == key_id):
            for shred in shreds:
                for _, _, public in (p for p in found.publics if p[:2] == (conversation, epoch)):
                    try:
                        key = crypto.unwrap_case_key(wrapped, recipient, shred, case or "", epoch, public)
                    except TranscriptUnreadable:
                        continue
                    keys.setdefault((conversation, epoch), []).append(key)
    return keys


def _chain_keys(found: Loot, recipients: list[RecipientPrivateKey], plaintexts: set[bytes]) -> list[bytes]:
    keys = [p for p in plaintexts if len(p) == 32]
    for conversation, key_id, wrapped in found.v1_wraps:
        for recipient in (r for r in recipients if r.key_id == key_id):
            try:
                keys.append(crypto.unwrap_chain_key(wrapped, recipient, found.cases.get(conversation, "")))
            except TranscriptUnreadable:
                continue
    return keys


def merge(copies: Sequence[Loot]) -> Loot:
    merged = Loot()
    for found in copies:
        merged.cases.update(found.cases)
        merged.entries |= found.entries
        merged.publics |= found.publics
        merged.wraps |= found.wraps
        merged.v1_wraps |= found.v1_wraps
        merged.blobs |= found.blobs
    return merged


def opened_entries(*copies: Path, recipients: Sequence[RecipientPrivateKey] = ()) -> dict[tuple[str, int], bytes]:
    """Every transcript entry these copies give up together, by (case, seq)."""
    found = merge([loot(directory) for directory in copies])
    plaintexts: set[bytes] = set()
    for directory in copies:
        if (directory / "server.key").exists():
            plaintexts |= _server_plaintexts(found, crypto.load_server_key(directory, None, create=False))
    shreds = [key for directory in copies for key in shred_keys(directory)]
    case_keys = _case_keys(found, shreds, list(recipients))
    chain_keys = _chain_keys(found, list(recipients), plaintexts)
    digests: dict[tuple[int, int], set[bytes]] = {}
    opened: dict[tuple[str, int], bytes] = {}
    for conversation, seq, epoch, sealed in sorted(found.entries):
        case = found.cases.get(conversation, "")
        for previous in {GENESIS} if seq == 0 else digests.get((conversation, seq - 1), set()):
            if epoch:
                digest = crypto.case_entry_digest(case, epoch, seq, previous, sealed)
            else:
                digest = crypto.entry_digest(case, seq, previous, sealed)
            digests.setdefault((conversation, seq), set()).add(digest)
            text = _try_entry(case, seq, epoch, previous, sealed, case_keys.get((conversation, epoch), []), chain_keys)
            if text is not None:
                opened[(case, seq)] = text
    return opened


def _try_entry(
    case: str,
    seq: int,
    epoch: int,
    previous: bytes,
    sealed: bytes,
    case_keys: list[RecipientPrivateKey],
    chains: list[bytes],
) -> bytes | None:
    for key in case_keys:
        try:
            return crypto.open_case_entry(key, case, epoch, seq, previous, sealed)
        except TranscriptUnreadable:
            continue
    for chain in chains:
        chain_key = chain
        for _ in range(seq + 1):
            try:
                return crypto.open_entry(chain_key, case, seq, previous, sealed)
            except TranscriptUnreadable:
                chain_key = crypto.next_chain_key(chain_key)
    return None
