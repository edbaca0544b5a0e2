"""Enrolling a passkey with a one-time link, and signing in with it (WebAuthn, the `webauthn` package).

The passkey is a discoverable credential with user verification required (a fingerprint, a face or the
device's PIN): signing in asks for no name, and the server keeps only the credential's public key.
Each ceremony's challenge is kept in memory for two minutes and used once. Attempts are limited per
address; the relying party is the host of ACCUEIL_WEB_PUBLIC_URL and the only accepted origin is its
scheme, host and port.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import webauthn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bot.console import invites
from storage.models import Staff, StaffPasskey

log = logging.getLogger("accueil.console")

CHALLENGE_SECONDS = 120.0
RP_NAME = "Accueil"


class PasskeyError(Exception):
    """The ceremony failed; `reason` is what the page may show (nothing more is said)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Challenges:
    """Challenges waiting for an answer, each usable once, for a short while."""

    clock: Callable[[], float] = time.monotonic
    _waiting: dict[str, tuple[bytes, float]] = field(default_factory=dict)

    def new(self, key: str) -> bytes:
        self.sweep()
        challenge = secrets.token_bytes(32)
        self._waiting[key] = (challenge, self.clock() + CHALLENGE_SECONDS)
        return challenge

    def take(self, key: str) -> bytes | None:
        found = self._waiting.pop(key, None)
        if found is None or found[1] < self.clock():
            return None
        return found[0]

    def sweep(self) -> None:
        now = self.clock()
        for key in [k for k, (_, until) in self._waiting.items() if until < now]:
            del self._waiting[key]


class Passkeys:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rp_id: str, origin: str) -> None:
        self.sessions = sessions
        self.rp_id = rp_id
        self.origin = origin
        self.challenges = Challenges()

    # --- enrolment ------------------------------------------------------------------------

    async def enrol_options(self, token: str, now: datetime) -> dict[str, Any]:
        async with self.sessions() as session:
            member = await invites.pending(session, token, now)
            if member is None:
                raise PasskeyError("This link is no longer valid. Ask for a new one.", 410)
            known = (
                await session.execute(select(StaffPasskey.credential_id).where(StaffPasskey.staff_id == member.id))
            ).scalars()
            exclude = [PublicKeyCredentialDescriptor(id=credential) for credential in known]
            name, staff_id = member.name, member.id
        options = webauthn.generate_registration_options(
            rp_id=self.rp_id,
            rp_name=RP_NAME,
            user_id=f"accueil-staff-{staff_id}".encode(),
            user_name=name,
            user_display_name=name,
            challenge=self.challenges.new("enrol:" + invites.token_hash(token)),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=exclude,
        )
        return dict(json.loads(webauthn.options_to_json(options)))

    async def enrol(self, token: str, credential: dict[str, Any], now: datetime) -> int:
        """Register the passkey and spend the link; the staff id it belongs to."""
        challenge = self.challenges.take("enrol:" + invites.token_hash(token))
        if challenge is None:
            raise PasskeyError("This attempt took too long. Please start again.")
        try:
            verified = webauthn.verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
            )
        except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
            log.warning("a passkey enrolment was refused", extra={"why": type(exc).__name__})
            raise PasskeyError("This passkey could not be registered. Please try again.") from exc
        async with self.sessions.begin() as session:
            member = await invites.pending(session, token, now)
            if member is None or not await invites.use(session, token, now):
                raise PasskeyError("This link is no longer valid. Ask for a new one.", 410)
            session.add(
                StaffPasskey(
                    credential_id=verified.credential_id,
                    staff_id=member.id,
                    public_key=verified.credential_public_key,
                    sign_count=verified.sign_count,
                    created_at=now,
                    used_at=now,
                )
            )
            staff_id = member.id
        log.info("a passkey was enrolled for the console", extra={"staff": staff_id})
        return staff_id

    # --- signing in -------------------------------------------------------------------------

    def signin_options(self) -> dict[str, Any]:
        ceremony = secrets.token_urlsafe(16)
        options = webauthn.generate_authentication_options(
            rp_id=self.rp_id,
            challenge=self.challenges.new("signin:" + ceremony),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return {"ceremony": ceremony, "publicKey": json.loads(webauthn.options_to_json(options))}

    async def signin(self, ceremony: str, credential: dict[str, Any], now: datetime) -> int:
        """Check the passkey's answer; the staff id it belongs to (on the team today)."""
        challenge = self.challenges.take("signin:" + ceremony)
        if challenge is None:
            raise PasskeyError("This attempt took too long. Please start again.")
        refused = PasskeyError("This passkey is not registered here, or no longer valid.", 401)
        try:
            raw_id = webauthn.base64url_to_bytes(str(credential["rawId"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise refused from exc
        async with self.sessions.begin() as session:
            passkey = await session.get(StaffPasskey, raw_id)
            member = await session.get(Staff, passkey.staff_id) if passkey is not None else None
            if passkey is None or member is None or member.removed_at is not None:
                raise refused
            try:
                verified = webauthn.verify_authentication_response(
                    credential=credential,
                    expected_challenge=challenge,
                    expected_rp_id=self.rp_id,
                    expected_origin=self.origin,
                    credential_public_key=passkey.public_key,
                    credential_current_sign_count=passkey.sign_count,
                    require_user_verification=True,
                )
            except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
                log.warning("a console sign-in was refused", extra={"why": type(exc).__name__})
                raise refused from exc
            passkey.sign_count = verified.new_sign_count
            passkey.used_at = now
            return member.id
