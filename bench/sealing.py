"""Benchmark 3: what sealing costs, per entry, per conversation, per transcript read, and per message.

The verbs of `storage.crypto` are timed alone (per entry: `seal_entry`,
`entry_digest` and `next_chain_key`, as `TranscriptWriter.append` calls them;
per conversation: `wrap_chain_key` to 1, 3 and 10 recipients, with the parsing
of each public key, as `TranscriptWriter.start` does; per read: unwrapping the
chain key and opening a 40-entry transcript, as `read_transcript` does, without
the database). Sealing's share of the time per message comes from the metered
runs of bench/breakdown.py, where every sealing call the bot makes (transcript
verbs, and the server key's seal, open and pseudonym) is counted and timed.
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


def per_entry(repeat: int = 3000) -> float:
    """Seconds to seal one entry, digest it and move the chain key on."""
    chain_key = crypto.new_chain_key()
    previous = GENESIS
    started = time.perf_counter()
    for seq in range(repeat):
        blob = crypto.seal_entry(chain_key, CONVERSATION, seq, previous, ENTRY)
        previous = crypto.entry_digest(CONVERSATION, seq, previous, blob)
        chain_key = crypto.next_chain_key(chain_key)
    return (time.perf_counter() - started) / repeat


def per_conversation(recipients: list[RecipientPrivateKey], repeat: int) -> float:
    """Seconds to wrap a new chain key to every recipient (public keys parsed from their bytes, as stored)."""
    raws = [key.public.raw for key in recipients]
    started = time.perf_counter()
    for _ in range(repeat):
        chain_key = crypto.new_chain_key()
        for raw in raws:
            crypto.wrap_chain_key(chain_key, RecipientPublicKey(raw), CONVERSATION)
    return (time.perf_counter() - started) / repeat


def per_read(key: RecipientPrivateKey, entries: int = 40, repeat: int = 50) -> float:
    """Seconds to unwrap the chain key and open every entry of an `entries`-entry transcript."""
    first = crypto.new_chain_key()
    wrapped = crypto.wrap_chain_key(first, key.public, CONVERSATION)
    blobs, previous, chain_key = [], GENESIS, first
    for seq in range(entries):
        blob = crypto.seal_entry(chain_key, CONVERSATION, seq, previous, ENTRY)
        blobs.append(blob)
        previous = crypto.entry_digest(CONVERSATION, seq, previous, blob)
        chain_key = crypto.next_chain_key(chain_key)
    started = time.perf_counter()
    for _ in range(repeat):
        chain_key = crypto.unwrap_chain_key(wrapped, key, CONVERSATION)
        previous = GENESIS
        for seq, blob in enumerate(blobs):
            crypto.open_entry(chain_key, CONVERSATION, seq, previous, blob)
            previous = crypto.entry_digest(CONVERSATION, seq, previous, blob)
            chain_key = crypto.next_chain_key(chain_key)
    return (time.perf_counter() - started) / repeat


def server_key_seal_open(repeat: int = 5000) -> float:
    """Seconds to seal and open one working state (about 400 bytes) under the server key."""
    keys = ServerKey(bytes(32))
    state = b"x" * 400
    started = time.perf_counter()
    for _ in range(repeat):
        keys.open(keys.seal(state, f"state:{CONVERSATION}"), f"state:{CONVERSATION}")
    return (time.perf_counter() - started) / repeat
