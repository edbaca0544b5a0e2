"""Reading a transcript with a recipient's private key, and giving keys added later the past (rewrap).

Entries of the v1 format (a chain key wrapped to each recipient) open as they
always did; entries of v2 open with the private key of their epoch, unwrapped
from the case's shred key (in the key store) and the reader's private key.
Every failure is one `TranscriptUnreadable` naming what is wrong.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import TranscriptUnreadable
from bot.transcript import epochs
from bot.transcript.entry import Entry
from storage import crypto
from storage import transcripts as repo
from storage.crypto import RecipientPrivateKey, RecipientPublicKey, ShredKey
from storage.keystore import keystore_of
from storage.models import Conversation, TranscriptEntry, TranscriptEpoch


class _Opener:
    """Opens one case's entries in order, with one reader's key."""

    def __init__(
        self,
        case: str,
        key: RecipientPrivateKey,
        chain_key: bytes | None,
        epochs: dict[int, TranscriptEpoch],
        wraps: dict[tuple[int, str], bytes],
        shred: ShredKey | None,
    ) -> None:
        self.case, self.key, self.chain_key = case, key, chain_key
        self.epochs, self.wraps, self.shred = epochs, wraps, shred
        self.case_keys: dict[int, RecipientPrivateKey] = {}

    def open(self, seq: int, row: TranscriptEntry, previous: bytes) -> tuple[bytes, bytes]:
        """The entry's plaintext, and the digest the next entry binds to."""
        if row.epoch == 0:
            if self.chain_key is None:
                raise TranscriptUnreadable(f"key {self.key.key_id} cannot read case {self.case}")
            plaintext = crypto.open_entry(self.chain_key, self.case, seq, previous, row.sealed)
            self.chain_key = crypto.next_chain_key(self.chain_key)
            return plaintext, crypto.entry_digest(self.case, seq, previous, row.sealed)
        case_key = self._case_key(row.epoch, seq)
        plaintext = crypto.open_case_entry(case_key, self.case, row.epoch, seq, previous, row.sealed)
        return plaintext, crypto.case_entry_digest(self.case, row.epoch, seq, previous, row.sealed)

    def _case_key(self, epoch: int, seq: int) -> RecipientPrivateKey:
        if epoch in self.case_keys:
            return self.case_keys[epoch]
        wrapped = self.wraps.get((epoch, self.key.key_id))
        known = self.epochs.get(epoch)
        if known is None:
            raise TranscriptUnreadable(f"entry {seq} of case {self.case} names an epoch that does not exist")
        if wrapped is None or self.shred is None:
            raise TranscriptUnreadable(
                f"key {self.key.key_id} cannot read case {self.case} from entry {seq} on "
                "(run `accueil keys rewrap` with a key that can)"
            )
        case_key = crypto.unwrap_case_key(wrapped, self.key, self.shred, self.case, epoch, known.public_key)
        self.case_keys[epoch] = case_key
        return case_key


async def _opener(session: AsyncSession, conversation: Conversation, key: RecipientPrivateKey) -> _Opener:
    registered = await repo.recipient(session, key.key_id)
    if registered is not None and registered.revoked_at is not None:
        raise TranscriptUnreadable(f"key {key.key_id} was revoked; it can no longer read transcripts")
    case = conversation.public_id
    v1 = (await repo.wrapped_keys(session, conversation.id)).get(key.key_id)
    wraps = await repo.epoch_wraps(session, conversation.id)
    if v1 is None and not any(key_id == key.key_id for _, key_id in wraps):
        raise TranscriptUnreadable(f"key {key.key_id} cannot read case {case}")
    chain_key = crypto.unwrap_chain_key(v1, key, case) if v1 is not None else None
    epochs = await repo.epochs(session, conversation.id)
    shred = keystore_of(session).load(case) if epochs else None
    return _Opener(case, key, chain_key, epochs, wraps, shred)


async def find_case(session: AsyncSession, public_id: str) -> Conversation:
    conversation = await repo.case(session, public_id.strip().upper())
    if conversation is None:
        raise TranscriptUnreadable(f"there is no case {public_id} (it may have been purged)")
    return conversation


async def read_transcript(
    session: AsyncSession, public_id: str, key: RecipientPrivateKey, chain: list[bytes] | None = None
) -> list[Entry]:
    """Every entry of a case, checked: a missing, moved or altered entry is named.

    `chain`, when given, receives the digest after each entry (what `heads` compares a remembered head to).
    """
    conversation = await find_case(session, public_id)
    opener = await _opener(session, conversation, key)
    state = await repo.transcript(session, conversation.id)
    previous, epoch = crypto.GENESIS, 0
    out: list[Entry] = []
    for expected, row in enumerate(await repo.entries(session, conversation.id)):
        if row.seq != expected:
            raise TranscriptUnreadable(f"entry {expected} is missing from case {conversation.public_id}")
        if row.epoch < epoch:
            raise TranscriptUnreadable(f"entry {expected} has been altered, moved or removed")
        epoch = row.epoch
        plaintext, previous = opener.open(expected, row, previous)
        if chain is not None:
            chain.append(previous)
        try:
            out.append(Entry.from_bytes(plaintext))
        except (ValueError, TypeError) as exc:
            raise TranscriptUnreadable(f"entry {expected} is not a transcript entry") from exc
    if state is not None and state.next_seq > len(out):
        missing = state.next_seq - len(out)
        raise TranscriptUnreadable(f"the last entries of case {conversation.public_id} are missing ({missing})")
    if state is None or state.next_seq != len(out) or state.last_digest != previous:
        raise TranscriptUnreadable(f"the last entries of case {conversation.public_id} are missing")
    return out


async def rewrap(session: AsyncSession, key: RecipientPrivateKey) -> int:
    """Wrap every case key `key` can open (v1 chain keys, v2 epoch keys) to every active recipient lacking it."""
    registered = await repo.recipient(session, key.key_id)
    if registered is None or registered.revoked_at is not None:
        raise TranscriptUnreadable(f"key {key.key_id} is not an active recipient key")
    recipients = await epochs.recipients(session)  # certified keys only
    return await _rewrap_v1(session, key, recipients) + await _rewrap_v2(session, key, recipients)


async def _rewrap_v1(session: AsyncSession, key: RecipientPrivateKey, recipients: list[RecipientPublicKey]) -> int:
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


async def _rewrap_v2(session: AsyncSession, key: RecipientPrivateKey, recipients: list[RecipientPublicKey]) -> int:
    added, store = 0, keystore_of(session)
    for conversation in await repo.conversations_with_epochs_for(session, key.key_id):
        case = conversation.public_id
        wraps = await repo.epoch_wraps(session, conversation.id)
        epochs = await repo.epochs(session, conversation.id)
        for (epoch, key_id), wrapped in sorted(wraps.items()):
            missing = [r for r in recipients if (epoch, r.key_id) not in wraps]
            if key_id != key.key_id or not missing:
                continue
            shred = store.load(case)
            case_key = crypto.unwrap_case_key(wrapped, key, shred, case, epoch, epochs[epoch].public_key)
            for recipient in missing:
                rewrapped = crypto.wrap_case_key(case_key, recipient, shred, case, epoch)
                await repo.add_epoch_wrap(session, conversation.id, epoch, recipient.key_id, rewrapped)
                added += 1
    return added
