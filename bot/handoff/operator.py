"""What the operator changes from the command line: a staff member removed, a case reassigned or closed.

Removal takes effect at once, in one transaction: whatever was queued to the
person and not yet sent is dropped, their sealed chat address is destroyed, and
the notifier queues nothing more to them. The cases they held go back to the
queue, with no caseworker and no interpreter, and are announced again to the
staff group like new cases (by the running bot's announcer, in office hours);
a case they interpreted stays with its caseworker, without an interpreter.
Every change is kept in the case's transcript.

Like the rest of the handoff, everything happens inside the session given and
what must be said is queued in the outbox: the running bot delivers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import Msg
from bot.handoff import texts
from bot.handoff.cases import OPEN, Cases
from storage import repo
from storage.models import Conversation, Staff

#: Who closes or hands over a case from the command line, as the staff read it.
OPERATOR = "l'administration du bot"


def back_in_queue(case: str, name: str) -> str:
    """To an interpreter of a case whose caseworker left the team."""
    return f"{texts.tag(case)} {name} ne fait plus partie de l'équipe : le dossier retourne dans la file d'attente."


def interpreter_left(case: str, name: str) -> str:
    """To the caseworker of a case whose interpreter left the team."""
    return f"{texts.tag(case)} {name} ne fait plus partie de l'équipe et n'est plus interprète sur ce dossier. /invite"


def reassigned_away(case: str, to: str) -> str:
    """To the caseworker a case is taken from by the operator."""
    return f"Dossier {case} confié à {to} par {OPERATOR} : vous n'en recevez plus les messages."


@dataclass
class Removal:
    """What removing a staff member changed."""

    #: Cases they held, back in the queue.
    requeued: list[str] = field(default_factory=list)
    #: Cases they interpreted, now without an interpreter.
    uninterpreted: list[str] = field(default_factory=list)
    #: Messages queued to them that will not be sent.
    dropped: int = 0


class Operator:
    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self.notifier = cases.notifier

    async def remove(self, session: AsyncSession, member: Staff, now: datetime) -> Removal:
        member.removed_at = now
        member.focus_id = None
        member.chat_sealed = b""  # the bot cannot write to them any more, whatever is queued
        removal = Removal(dropped=await repo.drop_pending_to(session, repo.staff_destination(member.id)))
        for conversation in await repo.open_cases(session, member.id):
            if conversation.caseworker_id == member.id:
                await self._requeue(session, conversation, member.name, now)
                removal.requeued.append(conversation.public_id)
            elif conversation.interpreter_id == member.id:
                await self._without_interpreter(session, conversation, member.name, now)
                removal.uninterpreted.append(conversation.public_id)
        return removal

    async def _requeue(self, session: AsyncSession, conversation: Conversation, name: str, now: datetime) -> None:
        """Back in the queue, announced again like a new case (nothing of what the person wrote)."""
        case = conversation.public_id
        interpreter_id = conversation.interpreter_id
        conversation.case_status = "queued"
        conversation.caseworker_id = None
        conversation.interpreter_id = None
        conversation.claimed_at = None
        conversation.announced_at = None
        conversation.announcements = 0
        if interpreter_id is not None:
            interpreter = await session.get(Staff, interpreter_id)
            if interpreter is not None:
                if interpreter.focus_id == conversation.id:
                    interpreter.focus_id = None
                await self.notifier.tell(session, conversation, interpreter.id, back_in_queue(case, name), now)
        await self.cases.record(session, conversation, f"back in the queue: {name} left the team", now)

    async def _without_interpreter(
        self, session: AsyncSession, conversation: Conversation, name: str, now: datetime
    ) -> None:
        conversation.interpreter_id = None
        if conversation.caseworker_id is not None:
            text = interpreter_left(conversation.public_id, name)
            await self.notifier.tell(session, conversation, conversation.caseworker_id, text, now)
        await self.cases.record(session, conversation, f"interpreter {name} left the team", now)

    async def reassign(self, session: AsyncSession, conversation: Conversation, to: Staff, now: datetime) -> None:
        """The case goes to caseworker `to`, who is told (with the summary if it is still held); whoever
        had it is told and receives nothing more of it."""
        case = conversation.public_id
        previous_id = conversation.caseworker_id
        if conversation.case_status == "queued" and await repo.claim_case(session, conversation.id, to.id, now):
            await session.refresh(conversation)
            await self.notifier.withdraw(session, conversation, texts.retired(case, to.name), now)
            if not conversation.quick_exit:
                await self.cases.victim.tell(session, conversation, Msg("handoff.claimed"), now)
        conversation.caseworker_id = to.id
        to.focus_id = conversation.id
        if previous_id is not None and previous_id != to.id:
            previous = await session.get(Staff, previous_id)
            if previous is not None:
                if previous.focus_id == conversation.id:
                    previous.focus_id = None
                await self.notifier.tell(session, conversation, previous.id, reassigned_away(case, to.name), now)
        await self.notifier.tell(session, conversation, to.id, texts.handed_to_you(case, OPERATOR), now)
        await self.cases.send_summary(session, to, conversation, now)
        await self.cases.record(session, conversation, f"reassigned to {to.name} by the operator", now)

    async def close(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """As /close does; a case still queued also loses its Claim button in the staff group."""
        if conversation.case_status == "queued":
            text = texts.closed(conversation.public_id, OPERATOR)
            await self.notifier.withdraw(session, conversation, text, now)
        await self.cases.close_as(session, OPERATOR, conversation, now)


def is_open(conversation: Conversation) -> bool:
    """Whether the case is in the queue or with someone."""
    return conversation.case_status == "queued" or conversation.case_status in OPEN
