"""Epochs: a case key pair whose private half goes, wrapped, to every active recipient, and is then forgotten.

Case keys are wrapped only to active keys the association certified
(`bot.transcript.certificates`). A case's first epoch opens with its transcript; a revocation (`accueil keys
revoke`, in the operator's process) opens a new one for every case, wrapped to
the remaining recipients only, and the running bot seals to it from its next
append on. A transcript begun in the v1 format (a chain key) moves to v2 the
same way, at its next append.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import ConfigError, TranscriptUnreadable
from bot.transcript import certificates, revocations
from storage import crypto
from storage import transcripts as repo
from storage.crypto import RecipientPublicKey, ShredKey
from storage.keystore import KeyStore, keystore_of
from storage.models import Conversation
from storage.transcripts import EpochKey


async def recipients(session: AsyncSession) -> list[RecipientPublicKey]:
    """The active recipient keys the association certified (`certificates`); none is a configuration error."""
    gone = revocations.revoked(session)
    rows = [row for row in await repo.active_recipients(session) if row.key_id not in gone]
    if not rows:
        raise ConfigError("no recipient key is registered: run `accueil keys init --out FILE`")
    found = certificates.accepted(rows, certificates.pinned_of(session))
    if not found:
        raise ConfigError(
            f"no registered key is certified by the association key {certificates.SETTING} pins: run "
            "`accueil keys certify FILE.pub --association-key ASSOCIATION.key` where that key is kept"
        )
    return found


async def open_epoch(
    session: AsyncSession,
    conversation: Conversation,
    to: Sequence[RecipientPublicKey],
    shred: ShredKey,
    epoch: int,
    now: datetime,
) -> EpochKey:
    case = conversation.public_id
    case_key = crypto.new_case_key()
    for recipient in to:
        wrapped = crypto.wrap_case_key(case_key, recipient, shred, case, epoch)
        await repo.add_epoch_wrap(session, conversation.id, epoch, recipient.key_id, wrapped)
    public = case_key.public.raw
    del case_key  # the private half exists only in the wraps
    row = await repo.add_epoch(session, conversation.id, epoch, public, shred.binding(case, epoch, public), now)
    return EpochKey.of(row)


async def next_epoch(session: AsyncSession, conversation: Conversation, store: KeyStore, now: datetime) -> EpochKey:
    """A new epoch for the case, to the active recipients; the v1 chain key, if any, is dropped."""
    to = await recipients(session)
    shred = store.create(conversation.public_id)
    current = await repo.current_epoch(session, conversation.id)
    state = await repo.transcript(session, conversation.id)
    if state is not None:
        state.chain_sealed = None
    number = 1 if current is None else current.epoch + 1
    return await open_epoch(session, conversation, to, shred, number, now)


async def rekey_all(session: AsyncSession, now: datetime) -> int:
    """A new epoch for every case that has a transcript; returns how many."""
    store = keystore_of(session)
    cases = await repo.transcribed_cases(session)
    for conversation in cases:
        await next_epoch(session, conversation, store, now)
    return len(cases)


def check_binding(epoch: EpochKey, shred: ShredKey, case: str) -> None:
    """Refuse an epoch public key that the case's shred key did not tag (one written into the database)."""
    if not hmac.compare_digest(shred.binding(case, epoch.epoch, epoch.public_key), epoch.binding):
        raise TranscriptUnreadable(
            f"the public key of case {case} (epoch {epoch.epoch}) was not made here; nothing is sealed to it"
        )
