"""Transcripts: everything said in a conversation, readable only with a recipient's private key.

`TranscriptWriter` is what the bot process uses: it starts a transcript (a
case key pair whose private half is wrapped to every active recipient key and
forgotten) and appends entries, each sealed with HPKE to the current epoch's
public key, so it cannot read back what it wrote. `read_transcript` (in
`bot.transcript.reader`) is what a caseworker's command uses, with their
private key. Every failure to read is `TranscriptUnreadable`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.transcript import epochs, heads
from bot.transcript.entry import Entry
from bot.transcript.reader import find_case, read_transcript, rewrap
from storage import crypto
from storage import transcripts as repo
from storage.crypto import RecipientPublicKey, ServerKey
from storage.keystore import keystore_of
from storage.models import Conversation, Transcript
from storage.transcripts import EpochKey

__all__ = ["Entry", "TranscriptWriter", "find_case", "read_transcript", "rewrap"]

log = logging.getLogger(__name__)


@lru_cache(maxsize=512)
def _public_key(raw: bytes) -> RecipientPublicKey:
    """An epoch's public key, parsed once (parsing checks the ML-KEM key, which costs as much as a seal)."""
    return RecipientPublicKey(raw)


class TranscriptWriter:
    """Appends to transcripts; holds nothing that opens what it wrote."""

    def __init__(self, keys: ServerKey) -> None:
        self.keys = keys  # the server key: it opens no entry; it puts a MAC on each transcript's head

    async def start(self, session: AsyncSession, conversation: Conversation) -> None:
        to = await epochs.recipients(session)
        shred = keystore_of(session).create(conversation.public_id)
        state = Transcript(conversation_id=conversation.id, chain_sealed=None, next_seq=0, last_digest=crypto.GENESIS)
        heads.seal(self.keys, conversation.public_id, state)
        session.add(state)
        await session.flush()
        await epochs.open_epoch(session, conversation, to, shred, 1, utcnow())

    async def append(self, session: AsyncSession, conversation: Conversation, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        state = await repo.transcript(session, conversation.id)
        if state is None:
            await self.start(session, conversation)
            state = await repo.transcript(session, conversation.id)
            assert state is not None
        epoch = await self._epoch(session, conversation)
        case, public = conversation.public_id, _public_key(epoch.public_key)
        seq, previous = state.next_seq, state.last_digest
        for entry in entries:
            sealed = crypto.seal_case_entry(public, case, epoch.epoch, seq, previous, entry.to_bytes())
            await repo.add_entry(session, conversation.id, seq, sealed, epoch.epoch)
            previous = crypto.case_entry_digest(case, epoch.epoch, seq, previous, sealed)
            seq += 1
        state.next_seq = seq
        state.last_digest = previous
        heads.seal(self.keys, case, state)  # the server's MAC: a head set back in the database shows

    async def _epoch(self, session: AsyncSession, conversation: Conversation) -> EpochKey:
        """The epoch to seal to: the newest, checked against the key store; a new one when there is none."""
        store = keystore_of(session)
        epoch = await repo.current_epoch(session, conversation.id)
        if epoch is None:  # a transcript begun in the v1 format: it goes on in v2
            return await epochs.next_epoch(session, conversation, store, utcnow())
        shred = store.find(conversation.public_id)
        if shred is None:
            log.warning(
                "case %s had no key in %s; its transcript goes on in a new epoch", conversation.public_id, store
            )
            return await epochs.next_epoch(session, conversation, store, utcnow())
        epochs.check_binding(epoch, shred, conversation.public_id)
        return epoch
