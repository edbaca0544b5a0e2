"""Handoff: every case reaches a caseworker, and the conversation goes on through the bot.

`Handoff` is what the conversation layer talks to. Its parts, one idea each:
`bot.handoff.cases` (a case's life: queued → claimed → active → closed),
`bot.handoff.relay` (the person's words to the staff and back, translated),
`bot.handoff.commands` (what a staff member's message, command or button does),
`bot.handoff.texts` (everything the staff read), `bot.handoff.notify` (the port
the staff are told through), `bot.handoff.operator` (a staff member removed, a
case reassigned or closed from the command line). Like `ConversationService`, every method works
inside the session it is given and queues what to send in the outbox; the
channel commits and delivers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.engine import Dialog
from bot.handoff.buttons import StaffPress
from bot.handoff.cases import Cases, Queueing
from bot.handoff.commands import StaffCommands, StaffOutcome
from bot.handoff.hours import OfficeHours
from bot.handoff.notify import OutboxNotifier, StaffNotifier
from bot.handoff.operator import Operator
from bot.handoff.relay import Relay
from bot.handoff.summary import SealedSummary
from bot.handoff.victim import VictimSide
from bot.language.i18n import Catalogs
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from bot.translation.port import Translator
from storage.crypto import ServerKey
from storage.models import Conversation, Staff


class Handoff:
    def __init__(
        self,
        dialog: Dialog,
        catalogs: Catalogs,
        keys: ServerKey,
        transcript: TranscriptWriter,
        *,
        translator: Translator | None,
        staff_language: str,
        hours: OfficeHours,
        renotify: timedelta,
        clock: Callable[[], datetime],
        staff_group: bool = True,
        notifier: StaffNotifier | None = None,
    ) -> None:
        postbox = Postbox(keys, catalogs)
        self.notifier: StaffNotifier = notifier if notifier is not None else OutboxNotifier(postbox)
        summaries = SealedSummary(keys)
        victim = VictimSide(catalogs, postbox, transcript)
        queueing = Queueing(staff_language, hours, renotify, staff_group)
        self.cases = Cases(dialog, catalogs, transcript, summaries, victim, self.notifier, queueing)
        self.relay = Relay(
            catalogs,
            transcript,
            summaries,
            victim,
            self.notifier,
            translator=translator,
            staff_language=staff_language,
        )
        self.commands = StaffCommands(self.cases, self.relay, self.notifier, clock)
        #: What the operator changes from the command line (`bot.handoff.operator`).
        self.operator = Operator(self.cases)

    @property
    def translator(self) -> Translator | None:
        """What relayed messages are translated with (None: sent as written)."""
        return self.relay.translator

    @translator.setter
    def translator(self, translator: Translator | None) -> None:
        self.relay.translator = translator

    async def queue(
        self,
        session: AsyncSession,
        conversation: Conversation,
        state: engine.State,
        translations: dict[str, str],
        reason: str,
        now: datetime,
    ) -> list[Entry]:
        """The conversation becomes a queued case; the summary entry for the transcript."""
        return await self.cases.queue(session, conversation, state, translations, reason, now)

    async def announce(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        await self.cases.announce(session, conversation, now)

    async def announce_due(self, session: AsyncSession, now: datetime) -> list[int]:
        """Announce every queued case due for it (office hours only); the conversations touched."""
        return await self.cases.announce_due(session, now)

    async def from_victim(
        self,
        session: AsyncSession,
        conversation: Conversation,
        event: engine.TextIn | engine.Media,
        said: Sequence[Entry],
        chat: str,
        message_ref: str | None,
        now: datetime,
    ) -> bool:
        """Relay what the person wrote to whoever has the case; False when nobody has it yet."""
        return await self.relay.from_victim(session, conversation, event, said, chat, message_ref, now)

    async def victim_left(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """Quick exit during a case: whoever has it must not write first."""
        await self.cases.victim_left(session, conversation, now)

    async def from_staff(
        self, session: AsyncSession, staff: Staff, event: engine.Event | StaffPress, reply_to: str | None
    ) -> StaffOutcome:
        return await self.commands.handle(session, staff, event, reply_to)
