"""The staff's side: what a staff member's message, command or button press does.

In their private chat with the bot, staff write to the case they reply to (a
relayed message), else to the case in focus (the one they last claimed, were
given, or chose with /case). Commands: /cases (and /start, /help) lists their
cases and the queue, /case N changes the focus, /summary shows the intake
summary, /invite offers the interpreters (those speaking the person's language
first), /transfer offers the other caseworkers, /close closes the case. The
buttons (Claim in the staff group, a case in /cases, a colleague under an offer)
arrive as `StaffPress`.

`StaffCommands.handle` returns a `StaffOutcome`: what the conversation layer
answers at once (a toast, a reply with buttons) and which conversations have
something queued to deliver.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.handoff import texts
from bot.handoff.buttons import StaffPress, one_per_row
from bot.handoff.cases import OPEN, Cases, Refused
from bot.handoff.notify import StaffNotifier
from bot.handoff.relay import Relay
from storage import repo
from storage.models import Conversation, Staff

#: Offers list at most this many colleagues; /cases at most this many queued cases.
MAX_OFFERED = 20
MAX_QUEUED_SHOWN = 10


@dataclass(frozen=True)
class StaffOutcome:
    toast: str | None = None
    conversation_ids: tuple[int, ...] = ()
    #: A direct answer that concerns no case (a list, an unknown case): sent at once, not queued.
    reply: str | None = None
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


def _touched(conversation: Conversation) -> StaffOutcome:
    return StaffOutcome(conversation_ids=(conversation.id,))


class StaffCommands:
    def __init__(self, cases: Cases, relay: Relay, notifier: StaffNotifier, clock: Callable[[], datetime]) -> None:
        self.cases = cases
        self.relay = relay
        self.notifier = notifier
        self.clock = clock

    async def handle(
        self, session: AsyncSession, staff: Staff, event: engine.Event | StaffPress, reply_to: str | None
    ) -> StaffOutcome:
        now = self.clock()
        if isinstance(event, StaffPress):
            return await self._press(session, staff, event, now)
        if isinstance(event, engine.Command):
            return await self._command(session, staff, event, reply_to, now)
        conversation = await self._target(session, staff, reply_to)
        if conversation is None:
            return StaffOutcome(reply=texts.NO_CASE)
        if not isinstance(event, engine.TextIn) or not event.text.strip():
            await self.notifier.tell(session, conversation, staff.id, texts.ONLY_TEXT, now)
        else:
            await self.relay.to_victim(session, staff, conversation, event.text, now)
        return _touched(conversation)

    # --- buttons ------------------------------------------------------------------------------

    async def _press(self, session: AsyncSession, staff: Staff, press: StaffPress, now: datetime) -> StaffOutcome:
        conversation = await repo.by_public_id(session, press.case)
        if conversation is None:
            return StaffOutcome(toast=texts.GONE)
        if press.action == "claim":
            refused = await self.cases.claim(session, staff, conversation, now)
            return _answer(refused, conversation, texts.CLAIMED)
        if press.action == "case":
            return await self._focus(session, staff, conversation, now)
        if conversation.caseworker_id != staff.id or conversation.case_status not in OPEN:
            return StaffOutcome(toast=texts.NOT_YOURS)
        other = await session.get(Staff, press.target or 0)
        if other is None or other.removed_at is not None:
            return StaffOutcome(toast=texts.LEFT_THE_TEAM)
        if press.action == "invite":
            refused = await self.cases.invite(session, staff, other, conversation, now)
            return _answer(refused, conversation, texts.invited_toast(other.name))
        refused = await self.cases.transfer(session, staff, other, conversation, now)
        return _answer(refused, conversation, texts.transferred_toast(other.name))

    async def _focus(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> StaffOutcome:
        if staff.id not in (conversation.caseworker_id, conversation.interpreter_id) or (
            conversation.case_status not in OPEN
        ):
            return StaffOutcome(toast=texts.NOT_YOURS)
        staff.focus_id = conversation.id
        await self.notifier.tell(session, conversation, staff.id, texts.focused(conversation.public_id), now)
        return _touched(conversation)

    # --- commands -----------------------------------------------------------------------------

    async def _command(
        self, session: AsyncSession, staff: Staff, command: engine.Command, reply_to: str | None, now: datetime
    ) -> StaffOutcome:
        name = command.name
        if name in ("cases", "start", "help"):
            return await self._list(session, staff, now)
        if name == "case":
            return await self._case(session, staff, command.args.strip(), now)
        conversation = await self._target(session, staff, reply_to)
        if conversation is None:
            return StaffOutcome(reply=texts.NO_CASE)
        if name == "summary":
            await self.cases.send_summary(session, staff, conversation, now)
        elif conversation.caseworker_id != staff.id:
            await self.notifier.tell(session, conversation, staff.id, texts.ONLY_THE_CASEWORKER, now)
        elif name == "close":
            await self.cases.close(session, staff, conversation, now)
        elif name in ("invite", "transfer"):
            await self._offer(session, staff, conversation, name, now)
        else:
            await self.notifier.tell(session, conversation, staff.id, texts.HELP, now)
        return _touched(conversation)

    async def _case(self, session: AsyncSession, staff: Staff, case: str, now: datetime) -> StaffOutcome:
        """/case N: the case staff messages go to from now on."""
        conversation = await repo.by_public_id(session, case) if case else None
        if conversation is None:
            return StaffOutcome(reply=texts.UNKNOWN_CASE)
        outcome = await self._focus(session, staff, conversation, now)
        return StaffOutcome(reply=outcome.toast) if outcome.toast else outcome

    async def _offer(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, action: str, now: datetime
    ) -> None:
        """/invite, /transfer: the colleagues to choose from, as buttons."""
        inviting = action == "invite"
        candidates = [
            s for s in await repo.active_staff(session, "interpreter" if inviting else "caseworker") if s.id != staff.id
        ]
        if inviting and conversation.language:
            speaking = [s for s in candidates if conversation.language in s.languages.split(",")]
            candidates = speaking or candidates
        if not candidates:
            await self.notifier.tell(session, conversation, staff.id, texts.nobody_to_ask(inviting), now)
            return
        buttons = one_per_row(
            [
                (texts.candidate(s.name, s.languages), StaffPress(action, conversation.public_id, s.id).data())
                for s in candidates[:MAX_OFFERED]
            ]
        )
        question = texts.INVITE_WHOM if inviting else texts.TRANSFER_TO_WHOM
        text = f"{texts.tag(conversation.public_id)} {question}"
        await self.notifier.tell(session, conversation, staff.id, text, now, buttons=buttons)

    async def _list(self, session: AsyncSession, staff: Staff, now: datetime) -> StaffOutcome:
        """/cases: the staff member's cases, then the queue; a button for each."""
        mine = await repo.open_cases(session, staff.id)
        queued = [c for c in await repo.open_cases(session) if c.case_status == "queued"]
        lines = [texts.YOUR_CASES if mine else texts.NO_CASES_OF_YOURS]
        buttons: list[tuple[str, str]] = []
        for c in mine:
            current = staff.focus_id == c.id
            lines.append(
                texts.case_line(
                    c.public_id, urgent=c.urgent, language=c.language, status=c.case_status, current=current
                )
            )
            buttons.append((texts.go_to_button(c.public_id), StaffPress("case", c.public_id).data()))
        if queued:
            lines.append(texts.in_the_queue(len(queued)))
            for c in queued[:MAX_QUEUED_SHOWN]:
                lines.append(
                    texts.queued_line(c.public_id, urgent=c.urgent, language=c.language, since=c.queued_at, now=now)
                )
                if staff.role == "caseworker":
                    buttons.append((texts.claim_button(c.public_id), StaffPress("claim", c.public_id).data()))
        lines += ["", texts.HELP]
        return StaffOutcome(reply="\n".join(lines), buttons=one_per_row(buttons))

    async def _target(self, session: AsyncSession, staff: Staff, reply_to: str | None) -> Conversation | None:
        """The case a staff message is for: the one replied to, else the one in focus."""
        conversation_id = None
        if reply_to is not None:
            conversation_id = await repo.conversation_of_sent(session, repo.staff_destination(staff.id), reply_to)
        conversation_id = conversation_id or staff.focus_id
        if conversation_id is None:
            return None
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.case_status not in OPEN:
            return None
        if staff.id not in (conversation.caseworker_id, conversation.interpreter_id):
            return None
        return conversation


def _answer(refused: Refused | None, conversation: Conversation, done: str) -> StaffOutcome:
    """The toast for a button press: why it did not happen, or that it did."""
    if refused is not None:
        return StaffOutcome(toast=refused.reason)
    return StaffOutcome(toast=done, conversation_ids=(conversation.id,))
