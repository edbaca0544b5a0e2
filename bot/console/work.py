"""What a staff member does to a case from the console, through the same handoff as on Telegram.

Each operation runs in one transaction with the case's row, checks who may do it, and calls
`bot.handoff` (claim, relay, invite, transfer, close) so the console and Telegram can never disagree:
the same atomic claim, the same translated and marked reply, the same transcript entries. What the
handoff queues (to the person, to colleagues on Telegram) is delivered by the shared outbox afterwards.

Who may do what:
- a caseworker sees the queue and claims from it; they work on the cases they hold;
- an interpreter sees only the cases they are invited to, while those are open, and writes in them;
- nobody sees another caseworker's case.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine import Dialog, State
from bot.engine.keyboard import DISCREET
from bot.errors import TranscriptUnreadable
from bot.handoff import Handoff
from bot.handoff.cases import OPEN
from bot.handoff.commands import MAX_OFFERED
from bot.transcript.bundle import sealed_bundle
from storage import repo, safety
from storage.crypto import ServerKey
from storage.models import Conversation, Staff
from storage.sealed import Sealed

#: The longest reply accepted from the console (Telegram's limit for one message is 4096).
MAX_REPLY = 3500


class Denied(Exception):
    """The staff member may not do this (HTTP 403), or the case is not there for them (404)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Done:
    """What happened, for the page; the conversations whose outbox to flush."""

    body: dict[str, Any]
    touched: tuple[int, ...] = ()


def holds(member: Staff, conversation: Conversation) -> bool:
    return member.role == "caseworker" and conversation.caseworker_id == member.id


def may_see(member: Staff, conversation: Conversation) -> bool:
    """Whether the case is this member's to read: the caseworker holding it (closed ones included, to
    export them), an interpreter only while invited on an open case."""
    if member.role == "caseworker":
        return conversation.caseworker_id == member.id and conversation.case_status is not None
    return conversation.interpreter_id == member.id and conversation.case_status in OPEN


def may_write(member: Staff, conversation: Conversation) -> bool:
    return conversation.case_status in OPEN and member.id in (conversation.caseworker_id, conversation.interpreter_id)


Sessions = async_sessionmaker[AsyncSession]
Operation = Callable[[AsyncSession, Staff, Conversation, datetime], Awaitable[Done]]


class CaseWork:
    def __init__(
        self, sessions: Sessions, handoff: Handoff, clock: Callable[[], datetime], keys: ServerKey, dialog: Dialog
    ) -> None:
        self.sessions = sessions
        self.handoff = handoff
        self.clock = clock
        self.keys = keys
        self.dialog = dialog

    async def run(self, staff_id: int, case: str, operation: Operation) -> Done:
        """`operation` on `case` for `staff_id`, in one transaction; `Denied` when it is not theirs."""
        async with self.sessions.begin() as session:
            member = await session.get(Staff, staff_id)
            if member is None or member.removed_at is not None:
                raise Denied(401, "signed out")
            conversation = await repo.by_public_id(session, case) if _plausible(case) else None
            if conversation is None or conversation.case_status is None:
                raise Denied(404, "no such case")
            return await operation(session, member, conversation, self.clock())

    # --- the operations ------------------------------------------------------------------------

    async def open(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        """The case as the page shows it; the opening is kept in the transcript (the audit trail)."""
        _require(may_see(member, conversation))
        await self.handoff.cases.record(session, conversation, f"opened in the console by {member.name}", now)
        return Done(await describe(session, conversation, member))

    async def claim(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        _require(member.role == "caseworker", "only caseworkers claim cases")
        refused = await self.handoff.cases.claim(session, member, conversation, now)
        if refused is not None:
            raise Denied(409, refused.reason)
        return Done(await describe(session, conversation, member), (conversation.id,))

    def reply(self, text: str) -> Operation:
        async def reply(session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
            _require(may_write(member, conversation))
            words = text.strip()
            if not words or len(words) > MAX_REPLY:
                raise Denied(400, f"a reply has 1 to {MAX_REPLY} characters")
            sent = await self.handoff.relay.to_victim(session, member, conversation, words, now)
            return Done({"sent": sent, "written": words, "language": conversation.language}, (conversation.id,))

        return reply

    async def colleagues(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        """Whom the case can go to: interpreters speaking the person's language, the other caseworkers."""
        _require(holds(member, conversation) and conversation.case_status in OPEN)
        interpreters = list(await repo.active_staff(session, "interpreter"))
        if conversation.language:
            speaking = [s for s in interpreters if conversation.language in s.languages.split(",")]
            interpreters = speaking or interpreters
        caseworkers = [s for s in await repo.active_staff(session, "caseworker") if s.id != member.id]
        return Done(
            {
                "interpreters": [_person(s) for s in interpreters[:MAX_OFFERED]],
                "caseworkers": [_person(s) for s in caseworkers[:MAX_OFFERED]],
            }
        )

    def invite(self, other_id: int) -> Operation:
        async def invite(session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
            _require(holds(member, conversation) and conversation.case_status in OPEN)
            other = await _colleague(session, other_id)
            refused = await self.handoff.cases.invite(session, member, other, conversation, now)
            if refused is not None:
                raise Denied(400, refused.reason)
            return Done(await describe(session, conversation, member), (conversation.id,))

        return invite

    def transfer(self, other_id: int) -> Operation:
        async def transfer(session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
            _require(holds(member, conversation) and conversation.case_status in OPEN)
            other = await _colleague(session, other_id)
            refused = await self.handoff.cases.transfer(session, member, other, conversation, now)
            if refused is not None:
                raise Denied(400, refused.reason)
            return Done({"case": conversation.public_id, "to": other.name}, (conversation.id,))

        return transfer

    async def close(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        _require(holds(member, conversation) and conversation.case_status in OPEN)
        await self.handoff.cases.close(session, member, conversation, now)
        return Done(await describe(session, conversation, member), (conversation.id,))

    async def reopen(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        """A closed case comes back to the caseworker who held it: what the person writes reaches them
        again. Not when the person has begun a new conversation since (that one is its own case)."""
        _require(holds(member, conversation) and conversation.case_status == "closed")
        newer = await repo.open_conversation(session, conversation.channel, conversation.user_ref)
        if newer is not None and newer.id != conversation.id:
            raise Denied(409, "The person has begun a new conversation since: it is a new case.")
        # The closed conversation's working state was destroyed: it gets one again, "with a person".
        state = State(
            flow=self.dialog.flow,
            step=self.dialog.start,
            turn=1_000_000,  # every button shown before stays stale
            language=conversation.language,
            marks=frozenset({DISCREET}) if conversation.discreet else frozenset(),
            status="handoff",
            started_at=now.isoformat(),
        )
        working = json.dumps({**state.to_dict(), "mt": {}}).encode()
        conversation.state_sealed = self.keys.seal(working, Sealed.STATE.of(conversation.public_id))
        conversation.status = "handoff"
        conversation.case_status = "active"
        conversation.closed_at = None
        conversation.updated_at = now
        member.focus_id = conversation.id
        await self.handoff.cases.record(session, conversation, f"reopened by {member.name}", now)
        return Done(await describe(session, conversation, member))

    async def block(self, session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
        """As `accueil block`: whoever wrote in the case is ignored from now on."""
        _require(holds(member, conversation))
        blocked = await safety.block(session, conversation, now)
        if blocked:
            await self.handoff.cases.record(session, conversation, f"writer blocked by {member.name}", now)
        return Done({"case": conversation.public_id, "blocked": True, "already": not blocked})

    def bundle(self, key_id: str) -> Operation:
        """The case's sealed entries for one recipient key, to be opened in the browser (never here)."""

        async def bundle(session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
            _require(may_see(member, conversation))
            if not 0 < len(key_id) <= 16 or not key_id.isascii() or not key_id.isalnum():
                raise Denied(400, "Open your key first.")
            try:
                return Done(await sealed_bundle(session, conversation.public_id, key_id))
            except TranscriptUnreadable as exc:
                raise Denied(409, str(exc)) from exc

        return bundle

    def audit(self, what: str) -> Operation:
        """An export made in the browser: only the fact that it happened reaches the server."""

        async def audit(session: AsyncSession, member: Staff, conversation: Conversation, now: datetime) -> Done:
            _require(may_see(member, conversation))
            await self.handoff.cases.record(session, conversation, f"{what} by {member.name}", now)
            return Done({"recorded": True})

        return audit


async def describe(session: AsyncSession, conversation: Conversation, member: Staff) -> dict[str, Any]:
    """A case's routing facts (nothing anyone said: that is in the sealed transcript)."""
    names = {}
    for staff_id in filter(None, (conversation.caseworker_id, conversation.interpreter_id)):
        other = await session.get(Staff, staff_id)
        names[staff_id] = other.name if other is not None else "?"
    return {
        "case": conversation.public_id,
        "status": conversation.case_status,
        "channel": conversation.channel,
        "language": conversation.language,
        "urgent": conversation.urgent,
        "interpreter_needed": conversation.interpreter_needed,
        "quick_exit": conversation.quick_exit,
        "needs": (conversation.needs or "").split(",") if conversation.needs else [],
        "queued_at": _iso(conversation.queued_at),
        "claimed_at": _iso(conversation.claimed_at),
        "closed_at": _iso(conversation.closed_at),
        "caseworker": names.get(conversation.caseworker_id or 0),
        "interpreter": names.get(conversation.interpreter_id or 0),
        "yours": conversation.caseworker_id == member.id,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _person(member: Staff) -> dict[str, Any]:
    return {"id": member.id, "name": member.name, "languages": [c for c in member.languages.split(",") if c]}


async def _colleague(session: AsyncSession, staff_id: int) -> Staff:
    other = await session.get(Staff, staff_id)
    if other is None or other.removed_at is not None:
        raise Denied(400, "this colleague is no longer on the team")
    return other


def _require(allowed: bool, reason: str = "this case is not yours") -> None:
    if not allowed:
        raise Denied(403, reason)


def _plausible(case: str) -> bool:
    return 0 < len(case) <= 16 and case.isascii() and case.replace("-", "").isalnum()
