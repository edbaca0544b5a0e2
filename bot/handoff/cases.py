"""A case's life: queued → claimed → active → closed.

A handed-off conversation becomes a queued case. The staff group is told about
it (nothing the person said, only what routes the case) with a Claim button,
again every ``ACCUEIL_RENOTIFY_MINUTES`` while nobody claims it (urgent cases
three times as often), and only during office hours; out of hours the person is
told when the office opens. Claiming is one conditional UPDATE, so exactly one
of several simultaneous claims wins; whoever wins gets the intake summary. The
caseworker can invite an interpreter, transfer the case to a colleague, and
close it. When the person uses the quick exit, whoever has the case is warned
not to write first. Every step is kept in the transcript.

Everything happens inside the session given, and what must be said is queued
(`StaffNotifier` for staff, `VictimSide` for the person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.engine import Dialog, Msg
from bot.handoff import intake_summary, texts
from bot.handoff.buttons import StaffPress
from bot.handoff.hours import OfficeHours
from bot.handoff.notify import StaffNotifier
from bot.handoff.summary import SealedSummary
from bot.handoff.victim import VictimSide
from bot.language.i18n import Catalogs
from bot.transcript.writer import Entry, TranscriptWriter
from storage import repo
from storage.models import Conversation, Staff

log = logging.getLogger("accueil.handoff")

#: A case someone works on.
OPEN = ("claimed", "active")
#: Where Babel knows a language under another code.
BABEL_LOCALES = {"tl": "fil"}


@dataclass(frozen=True)
class Refused:
    """A step of the case's life that did not happen, and why, as the staff member is told."""

    reason: str


@dataclass(frozen=True)
class Queueing:
    """How cases are queued and announced."""

    staff_language: str
    hours: OfficeHours
    renotify: timedelta
    #: Whether there is a staff group to announce cases to.
    staff_group: bool = True


class Cases:
    def __init__(
        self,
        dialog: Dialog,
        catalogs: Catalogs,
        transcript: TranscriptWriter,
        summaries: SealedSummary,
        victim: VictimSide,
        notifier: StaffNotifier,
        queueing: Queueing,
    ) -> None:
        self.dialog = dialog
        self.catalogs = catalogs
        self.transcript = transcript
        self.summaries = summaries
        self.victim = victim
        self.notifier = notifier
        self.queueing = queueing

    # --- queued ----------------------------------------------------------------------

    async def queue(
        self,
        session: AsyncSession,
        conversation: Conversation,
        state: engine.State,
        translations: dict[str, str],
        reason: str,
        now: datetime,
    ) -> list[Entry]:
        """The conversation becomes a queued case: summary sealed, staff told (in hours), person told when."""
        staff_language = self.queueing.staff_language
        text = intake_summary.summary(
            self.dialog,
            self.catalogs,
            staff_language,
            case=conversation.public_id,
            language=conversation.language,
            urgent=conversation.urgent,
            interpreter=conversation.interpreter_needed or state.answers.get("interpreter") == "yes",
            quick_exit=conversation.quick_exit,
            reason=reason,
            answers=state.answers,
            translations=translations,
            at=now,
        )
        if state.answers.get("interpreter") == "yes":
            conversation.interpreter_needed = True
        needs = state.answers.get("needs")
        conversation.needs = ",".join(needs) if isinstance(needs, tuple) else None
        self.summaries.keep(conversation, text)
        conversation.case_status = "queued"
        conversation.queued_at = now
        await session.flush()
        log.info("case queued", extra={"case": conversation.public_id, "urgent": conversation.urgent})
        hours = self.queueing.hours
        if hours.is_open(now):
            await self.victim.tell(session, conversation, Msg("handoff.open"), now)
            await self.announce(session, conversation, now)
        else:
            when = hours.next_open(now)
            shown = spoken_moment(when, conversation.language) if when else "—"
            await self.victim.tell(session, conversation, Msg("handoff.closed_now", {"when": shown}), now)
        return [Entry("system", now.isoformat(), "summary", text=text, language=staff_language)]

    async def announce(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        if not self.queueing.staff_group:
            # Nowhere to announce it: it waits, unannounced, and is announced once the group is set.
            log.warning(
                "a case waits but no staff group is set (ACCUEIL_STAFF_CHAT_ID); see `accueil cases list`",
                extra={"case": conversation.public_id},
            )
            return
        text = texts.notice(
            conversation.public_id,
            urgent=conversation.urgent,
            language=texts.language_line(self.catalogs, conversation.language),
            interpreter=conversation.interpreter_needed,
            needs=(conversation.needs or "").split(",") if conversation.needs else [],
            since=conversation.queued_at,
            now=now,
            again=conversation.announcements > 0,
            channel=conversation.channel,
        )
        claim = StaffPress("claim", conversation.public_id).data()
        await self.notifier.announce(session, conversation, text, [[(texts.CLAIM_BUTTON, claim)]], now)
        conversation.announced_at = now
        conversation.announcements += 1

    async def announce_due(self, session: AsyncSession, now: datetime) -> list[int]:
        """Announce every queued case due for it (office hours only); the conversations touched."""
        if not self.queueing.hours.is_open(now) or not self.queueing.staff_group:
            return []
        every = self.queueing.renotify
        due = await repo.cases_to_announce(session, now, every, every / 3)
        for conversation in due:
            await self.announce(session, conversation, now)
        return [c.id for c in due]

    # --- claimed, active ------------------------------------------------------------------

    async def claim(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> Refused | None:
        if staff.role != "caseworker":
            return Refused(texts.ONLY_CASEWORKERS_CLAIM)
        if not await repo.claim_case(session, conversation.id, staff.id, now):
            await session.refresh(conversation)
            holder = await session.get(Staff, conversation.caseworker_id) if conversation.caseworker_id else None
            if holder is not None and holder.id == staff.id:
                return Refused(texts.ALREADY_YOURS)
            return Refused(texts.taken_by(holder.name if holder is not None else None))
        await session.refresh(conversation)
        staff.focus_id = conversation.id
        case = conversation.public_id
        log.info("case claimed", extra={"case": case, "staff": staff.id})
        await self.notifier.withdraw(session, conversation, texts.retired(case, staff.name), now)
        await self.send_summary(session, staff, conversation, now)
        if not conversation.quick_exit:
            await self.victim.tell(session, conversation, Msg("handoff.claimed"), now)
        await self.record(session, conversation, f"claimed by {staff.name}", now)
        return None

    async def send_summary(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> None:
        """Hand the summary over: from now on only the message queued to `staff` holds it."""
        summary = self.summaries.take(conversation) or texts.summary_in_transcript(conversation.public_id)
        await self.notifier.tell(session, conversation, staff.id, texts.with_help(summary), now)

    async def invite(
        self, session: AsyncSession, staff: Staff, interpreter: Staff, conversation: Conversation, now: datetime
    ) -> Refused | None:
        if interpreter.role != "interpreter":
            return Refused(texts.NOT_AN_INTERPRETER)
        conversation.interpreter_id = interpreter.id
        interpreter.focus_id = conversation.id
        case = conversation.public_id
        language = texts.language_line(self.catalogs, conversation.language)
        await self.notifier.tell(session, conversation, interpreter.id, texts.invited(case, staff.name, language), now)
        await self.notifier.tell(session, conversation, staff.id, texts.joined(case, interpreter.name), now)
        await self.record(session, conversation, f"interpreter {interpreter.name} joined", now)
        return None

    async def transfer(
        self, session: AsyncSession, staff: Staff, other: Staff, conversation: Conversation, now: datetime
    ) -> Refused | None:
        if other.role != "caseworker" or other.id == staff.id:
            return Refused(texts.ANOTHER_CASEWORKER)
        conversation.caseworker_id = other.id
        other.focus_id = conversation.id
        if staff.focus_id == conversation.id:
            staff.focus_id = None
        case = conversation.public_id
        await self.notifier.tell(session, conversation, staff.id, texts.transferred(case, other.name), now)
        await self.notifier.tell(session, conversation, other.id, texts.handed_to_you(case, staff.name), now)
        await self.send_summary(session, other, conversation, now)
        await self.record(session, conversation, f"transferred from {staff.name} to {other.name}", now)
        return None

    # --- closed -----------------------------------------------------------------------------

    async def close(self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime) -> None:
        await self.close_as(session, staff.name, conversation, now)

    async def close_as(self, session: AsyncSession, by: str, conversation: Conversation, now: datetime) -> None:
        """Close the case in the name of `by` (a caseworker, or the operator)."""
        case = conversation.public_id
        conversation.case_status = "closed"
        conversation.closed_at = now
        conversation.status = "ended"
        conversation.state_sealed = None
        conversation.summary_sealed = None
        if not conversation.quick_exit:
            await self.victim.tell(session, conversation, Msg("handoff.case_closed"), now)
        for member_id in filter(None, (conversation.caseworker_id, conversation.interpreter_id)):
            member = await session.get(Staff, member_id)
            if member is not None:
                if member.focus_id == conversation.id:
                    member.focus_id = None
                await self.notifier.tell(session, conversation, member.id, texts.closed(case, by), now)
        await self.record(session, conversation, f"closed by {by}", now)
        log.info("case closed", extra={"case": case})

    async def victim_left(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """Quick exit during a case: the summary is destroyed; whoever has the case must not write first."""
        self.summaries.discard(conversation)
        if conversation.case_status not in OPEN or conversation.caseworker_id is None:
            return
        text = texts.victim_left(conversation.public_id)
        for staff_id in filter(None, (conversation.caseworker_id, conversation.interpreter_id)):
            await self.notifier.tell(session, conversation, staff_id, text, now)

    async def record(self, session: AsyncSession, conversation: Conversation, event: str, now: datetime) -> None:
        await self.transcript.append(session, conversation, [Entry("system", now.isoformat(), "event", text=event)])


def spoken_moment(moment: datetime, language: str | None) -> str:
    """A day and time as people write them in `language` (CLDR patterns, offline)."""
    try:
        locale = Locale.parse(BABEL_LOCALES.get(language or "fr", language or "fr"))
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse("fr")
    day = format_skeleton("MMMMEEEEd", moment, tzinfo=moment.tzinfo, locale=locale)
    hour = format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale)
    pattern = str(getattr(locale.datetime_formats["medium"], "pattern", locale.datetime_formats["medium"]))
    return pattern.replace("{1}", day).replace("{0}", hour)
