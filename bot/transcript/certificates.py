"""Certificates: the association's signature over each recipient key.

The association's key pair (`accueil keys init --association`) is kept offline; its fingerprint is
pinned in the settings (ACCUEIL_ASSOCIATION_KEY), never in the database. A certificate, stored with the
recipient key's row, is the association's public key, its label, a date and an Ed25519 signature over
the recipient's public key, that date and that label. The bot wraps case keys only to active keys whose
certificate holds under the pinned fingerprint: a key written into the database is refused, loudly.
With nothing pinned, every active key is used and each use says so (see docs/security.md).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import AssociationKey, RecipientPublicKey, signature_valid
from storage.digests import b64, unb64
from storage.models import RecipientKey

log = logging.getLogger(__name__)

SETTING = "ACCUEIL_ASSOCIATION_KEY"
_INFO = "accueil.association"


def fingerprint(public: bytes) -> str:
    """The association key's fingerprint, as pinned in ACCUEIL_ASSOCIATION_KEY (64 hex digits)."""
    return hashlib.sha256(b"accueil/association/v1|" + public).hexdigest()


def _message(recipient_raw: bytes, at: str, by: str) -> bytes:
    return b"accueil/certificate/v1|" + hashlib.sha256(recipient_raw).digest() + f"|{at}|{by}".encode()


def certify(association: AssociationKey, by: str, recipient: RecipientPublicKey, now: datetime) -> str:
    """A certificate of `recipient` by the association (`by` names it), as stored and as put in FILE.pub."""
    at = now.isoformat(timespec="seconds")
    signature = association.sign(_message(recipient.raw, at, by))
    doc = {"association": b64(association.public), "by": by, "at": at, "signature": b64(signature)}
    return json.dumps(doc, sort_keys=True)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    by: str  # who certified: the association's label and fingerprint; "" when unknown
    why: str = ""  # why the key is refused


def check(certificate: str | None, recipient_raw: bytes, pinned: str | None) -> Verdict:
    """Whether `certificate` certifies `recipient_raw` under the pinned association key (any key, unpinned)."""
    if not certificate:
        return Verdict(False, "", "it has no certificate")
    try:
        doc: Any = json.loads(certificate)
        public, signature = unb64(doc["association"]), unb64(doc["signature"])
        at, by = str(doc["at"]), str(doc["by"])
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        return Verdict(False, "", "its certificate is damaged")
    found = fingerprint(public)
    who = f"{by} ({found[:16]})"
    if pinned is not None and not hmac.compare_digest(found, pinned):
        return Verdict(False, who, f"it is certified by another key than the one {SETTING} pins")
    if not signature_valid(public, _message(recipient_raw, at, by), signature):
        return Verdict(False, who, "its certificate's signature does not hold")
    return Verdict(True, who)


def pin(sessions: async_sessionmaker[AsyncSession], pinned: str | None) -> None:
    """Sessions made by `sessions` wrap to keys certified under `pinned` (None: to every active key)."""
    info = dict(sessions.kw.get("info") or {})
    info[_INFO] = pinned
    sessions.configure(info=info)


def pinned_of(session: AsyncSession) -> str | None:
    value = session.info.get(_INFO)
    return value if isinstance(value, str) else None


def accepted(rows: Iterable[RecipientKey], pinned: str | None) -> list[RecipientPublicKey]:
    """The keys case keys may be wrapped to; one log line for each refused key."""
    if pinned is None:  # said once at start (`bot.app.checks`), and by `accueil keys list`
        return [RecipientPublicKey(row.public_key) for row in rows]
    out = []
    for row in rows:
        verdict = check(row.certificate, row.public_key, pinned)
        if verdict.ok:
            out.append(RecipientPublicKey(row.public_key))
        else:
            log.error("recipient key %s is REFUSED: %s; nothing is wrapped to it", row.key_id, verdict.why)
    return out
