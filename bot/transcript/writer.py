"""Transcripts: everything said in a conversation, readable only with a recipient's private key.

`TranscriptWriter` is what the bot process uses: it starts a transcript (a
fresh chain key wrapped to every active recipient key) and appends entries,
keeping only the newest chain key (sealed under the server key), so it cannot
read back what it wrote. `read_transcript` is what a caseworker's command
uses, with their private key. Every failure to read is `TranscriptUnreadable`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import ConfigError, TranscriptUnreadable
from storage import crypto
from storage import transcripts as repo
from storage.crypto import RecipientPrivateKey, RecipientPublicKey, ServerKey
from storage.models import Conversation, Transcript
from storage.sealed import Sealed


@dataclass(frozen=True)
class Entry:
    """One line of a transcript."""

    who: str  # victim | bot | caseworker | interpreter | system
    at: str
    kind: str  # message | answer | command | media | event | answers | summary
    text: str | None = None
    language: str | None = None
    translation: str | None = None
    machine_translated: bool = False
    step: str | None = None
    answer: Any = None
    by: str | None = None  # the staff member's name
    #: A file the person sent: its name, type and content (base64).
    name: str | None = None
    mime: str | None = None
    data: str | None = None
    #: The words written under a photo, video or document (its translation in `translation`).
    caption: str | None = None

    def to_bytes(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v not in (None, False)}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        return cls(**json.loads(data))


class TranscriptWriter:
    def __init__(self, keys: ServerKey) -> None:
        self.keys = keys

    def _context(self, conversation: Conversation) -> str:
        return Sealed.CHAIN.of(conversation.public_id)

    async def start(self, session: AsyncSession, conversation: Conversation) -> None:
        recipients = await repo.active_recipients(session)
        if not recipients:
            raise ConfigError("no recipient key is registered: run `accueil keys init --out FILE`")
        chain_key = crypto.new_chain_key()
        for recipient in recipients:
            public = RecipientPublicKey(recipient.public_key)
            wrapped = crypto.wrap_chain_key(chain_key, public, conversation.public_id)
            await repo.add_wrapped_key(session, conversation.id, public.key_id, wrapped)
        session.add(
            Transcript(
                conversation_id=conversation.id,
                chain_sealed=self.keys.seal(chain_key, self._context(conversation)),
                next_seq=0,
                last_digest=crypto.GENESIS,
            )
        )
        await session.flush()

    async def append(self, session: AsyncSession, conversation: Conversation, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        state = await repo.transcript(session, conversation.id)
        if state is None:
            await self.start(session, conversation)
            state = await repo.transcript(session, conversation.id)
            assert state is not None
        chain_key = self.keys.open(state.chain_sealed, self._context(conversation))
        seq, previous = state.next_seq, state.last_digest
        for entry in entries:
            sealed = crypto.seal_entry(chain_key, conversation.public_id, seq, previous, entry.to_bytes())
            await repo.add_entry(session, conversation.id, seq, sealed)
            previous = crypto.entry_digest(conversation.public_id, seq, previous, sealed)
            chain_key = crypto.next_chain_key(chain_key)
            seq += 1
        state.chain_sealed = self.keys.seal(chain_key, self._context(conversation))
        state.next_seq = seq
        state.last_digest = previous


async def _chain_key(session: AsyncSession, conversation: Conversation, key: RecipientPrivateKey) -> bytes:
    registered = await repo.recipient(session, key.key_id)
    if registered is not None and registered.revoked_at is not None:
        raise TranscriptUnreadable(f"key {key.key_id} was revoked; it can no longer read transcripts")
    wrapped = (await repo.wrapped_keys(session, conversation.id)).get(key.key_id)
    if wrapped is None:
        raise TranscriptUnreadable(f"key {key.key_id} cannot read case {conversation.public_id}")
    return crypto.unwrap_chain_key(wrapped, key, conversation.public_id)


async def find_case(session: AsyncSession, public_id: str) -> Conversation:
    conversation = await repo.case(session, public_id.strip().upper())
    if conversation is None:
        raise TranscriptUnreadable(f"there is no case {public_id} (it may have been purged)")
    return conversation


async def read_transcript(session: AsyncSession, public_id: str, key: RecipientPrivateKey) -> list[Entry]:
    """Every entry of a case, checked: a missing, moved or altered entry is named."""
    conversation = await find_case(session, public_id)
    chain_key = await _chain_key(session, conversation, key)
    state = await repo.transcript(session, conversation.id)
    previous = crypto.GENESIS
    out: list[Entry] = []
    for expected, row in enumerate(await repo.entries(session, conversation.id)):
        if row.seq != expected:
            raise TranscriptUnreadable(f"entry {expected} is missing from case {conversation.public_id}")
        plaintext = crypto.open_entry(chain_key, conversation.public_id, expected, previous, row.sealed)
        try:
            out.append(Entry.from_bytes(plaintext))
        except (ValueError, TypeError) as exc:
            raise TranscriptUnreadable(f"entry {expected} is not a transcript entry") from exc
        previous = crypto.entry_digest(conversation.public_id, expected, previous, row.sealed)
        chain_key = crypto.next_chain_key(chain_key)
    if state is None or state.next_seq != len(out) or state.last_digest != previous:
        raise TranscriptUnreadable(f"the last entries of case {conversation.public_id} are missing")
    return out


async def rewrap(session: AsyncSession, key: RecipientPrivateKey) -> int:
    """Wrap every chain key `key` can open to every active recipient that lacks it."""
    registered = await repo.recipient(session, key.key_id)
    if registered is None or registered.revoked_at is not None:
        raise TranscriptUnreadable(f"key {key.key_id} is not an active recipient key")
    recipients = [RecipientPublicKey(r.public_key) for r in await repo.active_recipients(session)]
    added = 0
    for conversation in await repo.conversations_wrapped_to(session, key.key_id):
        have = await repo.wrapped_keys(session, conversation.id)
        missing = [r for r in recipients if r.key_id not in have]
        if not missing:
            continue
        chain_key = crypto.unwrap_chain_key(have[key.key_id], key, conversation.public_id)
        for recipient in missing:
            wrapped = crypto.wrap_chain_key(chain_key, recipient, conversation.public_id)
            await repo.add_wrapped_key(session, conversation.id, recipient.key_id, wrapped)
            added += 1
    return added
