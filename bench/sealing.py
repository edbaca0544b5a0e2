"""Benchmark 3: what sealing costs, per entry, per conversation, per transcript read, and per message.

The verbs of `storage.crypto` are timed alone, as transcripts v2 call them (per entry:
`seal_case_entry` to the epoch's public key and `case_entry_digest`, as
`TranscriptWriter.append` does; per conversation: a new case key pair wrapped with
`wrap_case_key` to 1, 3 and 10 recipients, each public key parsed from its bytes, as a
new epoch does; per read: unwrapping the case key and opening a 40-entry transcript,
as `read_transcript` does, without the database). Sealing's share of the time per
message comes from the metered runs of bench/breakdown.py, where every sealing call the
bot makes is counted and timed.
"""

from __future__ import annotations

import json
import time

from storage import crypto
from storage.crypto import GENESIS, RecipientPrivateKey, RecipientPublicKey, ServerKey

CONVERSATION = "K7QM-2XPA"
#: A victim's typical message as the transcript stores it (an `Entry` as JSON).
ENTRY = json.dumps(
    {
        "who": "victim",
        "at": "2026-11-23T21:34:56.789012+00:00",
        "kind": "message",
        "text": "I worked in a restaurant kitchen for two years without pay.",
        "language": "en",
        "step": "story",
    }
).encode()


def per_entry(repeat: int = 1000) -> float:
    """Seconds to seal one entry to the epoch's public key and digest it."""
    public = crypto.new_case_key().public
    previous = GENESIS
    started = time.perf_counter()
    for seq in range(repeat):
        blob = crypto.seal_case_entry(public, CONVERSATION, 1, seq, previous, ENTRY)
        previous = crypto.case_entry_digest(CONVERSATION, 1, seq, previous, blob)
    return (time.perf_counter() - started) / repeat


def per_conversation(recipients: list[RecipientPrivateKey], repeat: int) -> float:
    """Seconds to make a case key pair and wrap it to every recipient (public keys parsed from their bytes)."""
    raws = [key.public.raw for key in recipients]
    shred = crypto.ShredKey.generate()
    started = time.perf_counter()
    for _ in range(repeat):
        case_key = crypto.new_case_key()
        for raw in raws:
            crypto.wrap_case_key(case_key, RecipientPublicKey(raw), shred, CONVERSATION, 1)
    return (time.perf_counter() - started) / repeat


def per_read(key: RecipientPrivateKey, entries: int = 40, repeat: int = 20) -> float:
    """Seconds to unwrap the case key and open every entry of an `entries`-entry transcript."""
    case_key, shred = crypto.new_case_key(), crypto.ShredKey.generate()
    wrapped = crypto.wrap_case_key(case_key, key.public, shred, CONVERSATION, 1)
    blobs, previous = [], GENESIS
    for seq in range(entries):
        blob = crypto.seal_case_entry(case_key.public, CONVERSATION, 1, seq, previous, ENTRY)
        blobs.append(blob)
        previous = crypto.case_entry_digest(CONVERSATION, 1, seq, previous, blob)
    public_raw = case_key.public.raw
    started = time.perf_counter()
    for _ in range(repeat):
        opened = crypto.unwrap_case_key(wrapped, key, shred, CONVERSATION, 1, public_raw)
        previous = GENESIS
        for seq, blob in enumerate(blobs):
            crypto.open_case_entry(opened, CONVERSATION, 1, seq, previous, blob)
            previous = crypto.case_entry_digest(CONVERSATION, 1, seq, previous, blob)
    return (time.perf_counter() - started) / repeat


def server_key_seal_open(repeat: int = 5000) -> float:
    """Seconds to seal and open one working state (about 400 bytes) under the server key."""
    keys = ServerKey(bytes(32))
    state = b"x" * 400
    started = time.perf_counter()
    for _ in range(repeat):
        keys.open(keys.seal(state, f"state:{CONVERSATION}"), f"state:{CONVERSATION}")
    return (time.perf_counter() - started) / repeat
