"""What a caseworker's browser needs to read one case with one recipient key, and nothing more.

`sealed_bundle` gathers a case's sealed entries, the public key of each epoch they use with the
case key wrapped to that recipient, the v1 chain key wrapped to it (if the case began in the v1
format) and the transcript's head. The server removes the shred layer of each wrap (it holds the
case's shred key, in the key store); what remains is HPKE to the recipient's public key, so the
server still opens no entry and never sees a case's private key. The browser (web/src/crypto/)
opens the rest with the recipient's private key and checks the chain of digests to the head.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import TranscriptUnreadable
from bot.transcript import epochs as epoch_checks
from bot.transcript.reader import find_case
from storage import transcripts as repo
from storage.crypto import unshred_case_key as unshred
from storage.digests import b64
from storage.keystore import keystore_of
from storage.transcripts import EpochKey

FORMAT = "accueil-transcript-bundle/v1"


async def sealed_bundle(session: AsyncSession, public_id: str, key_id: str) -> dict[str, Any]:
    """The case `public_id` as recipient `key_id` reads it in the browser (a JSON-able dict).

    Raises `TranscriptUnreadable` (one clear line) when the case does not exist, when the key was
    revoked, or when it cannot read the case (no wrap for it from some entry on).
    """
    conversation = await find_case(session, public_id)
    case = conversation.public_id
    registered = await repo.recipient(session, key_id)
    if registered is not None and registered.revoked_at is not None:
        raise TranscriptUnreadable(f"key {key_id} was revoked; it can no longer read transcripts")
    state = await repo.transcript(session, conversation.id)
    if state is None:
        raise TranscriptUnreadable(f"case {case} has no transcript yet")
    chain_key = (await repo.wrapped_keys(session, conversation.id)).get(key_id)
    wraps = await repo.epoch_wraps(session, conversation.id)
    if chain_key is None and not any(wrapped_to == key_id for _, wrapped_to in wraps):
        raise TranscriptUnreadable(f"key {key_id} cannot read case {case}")
    rows = await repo.entries(session, conversation.id)
    known = await repo.epochs(session, conversation.id)
    used = sorted({row.epoch for row in rows if row.epoch != 0})
    shred = keystore_of(session).load(case) if used else None
    epochs: list[dict[str, Any]] = []
    for number in used:
        epoch = known.get(number)
        if epoch is None:
            continue  # an entry naming an epoch that does not exist: the browser says which
        assert shred is not None
        epoch_checks.check_binding(EpochKey.of(epoch), shred, case)
        wrapped = wraps.get((number, key_id))
        if wrapped is None:
            first = next(row.seq for row in rows if row.epoch == number)
            raise TranscriptUnreadable(
                f"key {key_id} cannot read case {case} from entry {first} on "
                "(run `accueil keys rewrap` with a key that can)"
            )
        unshredded = unshred(wrapped, shred, key_id, case, number, epoch.public_key)
        epochs.append({"epoch": number, "public": b64(epoch.public_key), "wrap": b64(unshredded)})
    return {
        "format": FORMAT,
        "case": case,
        "key_id": key_id,
        "chain_key": None if chain_key is None else b64(chain_key),
        "epochs": epochs,
        "entries": [{"seq": row.seq, "epoch": row.epoch, "sealed": b64(row.sealed)} for row in rows],
        "head": {"next_seq": state.next_seq, "last_digest": state.last_digest.hex()},
    }
