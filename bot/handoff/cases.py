"""Handoff: every case reaches a caseworker, and the conversation goes on through the bot.

A handed-off conversation becomes a case: queued → claimed → active → closed.
The staff group is told about queued cases (nothing the person said, only
what routes the case) with a Claim button, again every
``ACCUEIL_RENOTIFY_MINUTES`` while nobody claims it, and only during office
hours. Claiming is one conditional UPDATE, so exactly one of several
simultaneous claims wins. The caseworker who claims gets the intake summary in
their private chat with the bot; from then on the person's words reach them
translated into the staff language with the original beneath, and theirs reach
the person translated, each machine translation marked. An interpreter can be
invited: they see the person's own words, and what they write reaches the
person as written. Everything relayed is sealed into the transcript.

Like `ConversationService`, every method works inside the session it is given
and queues what to send in the outbox; the channel commits and delivers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time
from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.engine import Dialog, Msg
from bot.handoff import texts as staff_text
from bot.handoff.hours import OfficeHours
from bot.handoff.sanitize import for_staff
from bot.language.i18n import Catalogs
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from bot.translation.port import TranslationError, Translator
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation, Staff

log = logging.getLogger("accueil.handoff")

OPEN = ("claimed", "active")
NO_CASE = "Aucun dossier en cours. /cases pour la liste."
#: Staff buttons: "claim:CASE", "invite:CASE:STAFF", "transfer:CASE:STAFF", "case:CASE".
STAFF_ACTIONS = ("claim", "invite", "transfer", "case")


@dataclass(frozen=True)
class StaffPress:
    """A press on one of the staff's buttons (in the staff group or a private chat)."""

    action: str
    case: str
    target: int | None = None

    @classmethod
    def parse(cls, data: str) -> StaffPress | None:
        parts = data.split(":")
        if len(parts) not in (2, 3) or parts[0] not in STAFF_ACTIONS or len(data) > 64:
            return None
        target = None
        if len(parts) == 3:
            if not parts[2].isdigit():
                return None
            target = int(parts[2])
        return cls(parts[0], parts[1], target)

    def data(self) -> str:
        return f"{self.action}:{self.case}" + (f":{self.target}" if self.target is not None else "")


@dataclass(frozen=True)
class StaffOutcome:
    toast: str | None = None
    conversation_ids: tuple[int, ...] = ()
    #: A direct answer that concerns no case (a list, an unknown case): sent at once, not queued.
    reply: str | None = None
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


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
    ) -> None:
        self.staff_group = staff_group
        self.dialog = dialog
        self.catalogs = catalogs
        self.keys = keys
        self.postbox = Postbox(keys, catalogs)
        self.transcript = transcript
        self.translator = translator
        self.staff_language = staff_language
        self.hours = hours
        self.renotify = renotify
        self.clock = clock

    # --- the queue ------------------------------------------------------------------

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
        text = staff_text.summary(
            self.dialog,
            self.catalogs,
            self.staff_language,
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
        conversation.summary_sealed = self._seal_summary(conversation, text)
        conversation.case_status = "queued"
        conversation.queued_at = now
        await session.flush()
        log.info("case queued", extra={"case": conversation.public_id, "urgent": conversation.urgent})
        if self.hours.is_open(now):
            await self._to_victim(session, conversation, Msg("handoff.open"), now)
            await self.announce(session, conversation, now)
        else:
            when = self.hours.next_open(now)
            shown = self._when(when, conversation.language) if when else "—"
            await self._to_victim(session, conversation, Msg("handoff.closed_now", {"when": shown}), now)
        return [Entry("system", now.isoformat(), "summary", text=text, language=self.staff_language)]

    async def announce(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        if not self.staff_group:
            # Nowhere to announce it: it waits, unannounced, and is announced once the group is set.
            log.warning(
                "a case waits but no staff group is set (ACCUEIL_STAFF_CHAT_ID); see `accueil cases list`",
                extra={"case": conversation.public_id},
            )
            return
        again = conversation.announcements > 0
        text = staff_text.notice(
            conversation.public_id,
            urgent=conversation.urgent,
            language=staff_text.language_line(self.catalogs, conversation.language),
            interpreter=conversation.interpreter_needed,
            needs=(conversation.needs or "").split(",") if conversation.needs else [],
            since=conversation.queued_at,
            now=now,
            again=again,
        )
        button = [[["Prendre le dossier", StaffPress("claim", conversation.public_id).data()]]]
        await self._enqueue(session, conversation, repo.GROUP, "notice", {"text": text, "buttons": button}, now)
        conversation.announced_at = now
        conversation.announcements += 1

    async def announce_due(self, session: AsyncSession, now: datetime) -> list[int]:
        """Announce every queued case due for it (office hours only); the conversations touched."""
        if not self.hours.is_open(now) or not self.staff_group:
            return []
        due = await repo.cases_to_announce(session, now, self.renotify, self.renotify / 3)
        for conversation in due:
            await self.announce(session, conversation, now)
        return [c.id for c in due]

    # --- the victim's side ---------------------------------------------------------

    async def from_victim(
        self,
        session: AsyncSession,
        conversation: Conversation,
        event: engine.Event,
        said: Sequence[Entry],
        chat: str,
        message_ref: str | None,
        now: datetime,
    ) -> bool:
        """Relay what the person wrote to whoever has the case; False when nobody has it yet."""
        if conversation.case_status not in OPEN or conversation.caseworker_id is None:
            if conversation.case_status == "queued" and isinstance(event, engine.TextIn) and said:
                self._add_to_summary(conversation, said[0], now)
            return False
        case = conversation.public_id
        caseworker = repo.staff_destination(conversation.caseworker_id)
        interpreter = (
            repo.staff_destination(conversation.interpreter_id) if conversation.interpreter_id is not None else None
        )
        if isinstance(event, engine.TextIn):
            entry = said[0] if said else None
            translation = entry.translation if entry else None
            how = {"edit": " (message modifié)", "forwarded": " (message transféré d'une autre conversation)"}
            lines = [
                f"[{case}]{how.get(entry.kind, '') if entry else ''}",
                *staff_text.victim_words(event.text, translation, conversation.language, self.staff_language),
            ]
            await self._enqueue(session, conversation, caseworker, "message", {"text": "\n".join(lines)}, now)
            if interpreter is not None:
                original = f"[{case}] " + for_staff(event.text)
                await self._enqueue(session, conversation, interpreter, "message", {"text": original}, now)
            return True
        if isinstance(event, engine.Media) and message_ref is not None and event.kind in RELAYED_MEDIA:
            for destination in filter(None, (caseworker, interpreter)):
                payload = {"source": [chat, message_ref], "text": f"[{case}] {MEDIA_NAMES.get(event.kind, event.kind)}"}
                await self._enqueue(session, conversation, destination, "copy", payload, now)
            return True
        if isinstance(event, engine.Media):
            await self._to_victim(session, conversation, Msg("handoff.media_not_relayed"), now)
            return True
        return False

    async def victim_left(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """Quick exit during a case: whoever has it must not write first."""
        if conversation.case_status not in OPEN or conversation.caseworker_id is None:
            return
        text = (
            f"[{conversation.public_id}] ⚠ La personne a utilisé la sortie rapide : la conversation a été effacée "
            "de son téléphone. N'écrivez pas en premier ; attendez qu'elle revienne."
        )
        for staff_id in filter(None, (conversation.caseworker_id, conversation.interpreter_id)):
            await self._enqueue(session, conversation, repo.staff_destination(staff_id), "message", {"text": text}, now)

    # --- the staff's side ------------------------------------------------------------

    async def from_staff(
        self, session: AsyncSession, staff: Staff, event: engine.Event | StaffPress, reply_to: str | None
    ) -> StaffOutcome:
        now = self.clock()
        if isinstance(event, StaffPress):
            return await self._press(session, staff, event, now)
        if isinstance(event, engine.Command):
            return await self._command(session, staff, event, reply_to, now)
        conversation = await self._target(session, staff, reply_to)
        if conversation is None:
            return StaffOutcome(reply=NO_CASE)
        if not isinstance(event, engine.TextIn) or not event.text.strip():
            await self._to_staff(session, staff, conversation, "Seul le texte est relayé à la personne.", now)
            return StaffOutcome(conversation_ids=(conversation.id,))
        await self._relay_to_victim(session, staff, conversation, event.text, now)
        return StaffOutcome(conversation_ids=(conversation.id,))

    async def _relay_to_victim(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, text: str, now: datetime
    ) -> None:
        case = conversation.public_id
        language = conversation.language or self.staff_language
        interpreter = staff.role == "interpreter"
        if interpreter:
            # As written to the person; translated for the caseworker.
            to_victim, machine = text, False
            to_staff = await self._translate(text, language, self.staff_language)
        else:
            to_staff = None
            translated = await self._translate(text, self.staff_language, language)
            to_victim, machine = (translated, True) if translated is not None else (text, False)
        if machine:
            mark = self.catalogs.render(language, Msg("handoff.machine_translated"))
            body = f"{to_victim}\n\n({mark})"
        else:
            body = to_victim
        await self._enqueue(session, conversation, repo.VICTIM, "message", {"text": body}, now)
        if conversation.case_status == "claimed":
            conversation.case_status = "active"
        entry = Entry(
            staff.role,
            now.isoformat(),
            "message",
            text=text,
            language=language if interpreter else self.staff_language,
            translation=to_staff if interpreter else (to_victim if machine else None),
            machine_translated=(to_staff is not None) if interpreter else machine,
            by=staff.name,
        )
        await self.transcript.append(session, conversation, [entry])
        if interpreter and conversation.caseworker_id is not None:
            lines = [
                f"[{case}] {staff.name} (interprète) :",
                *staff_text.victim_words(text, to_staff, language, self.staff_language),
            ]
            destination = repo.staff_destination(conversation.caseworker_id)
            await self._enqueue(session, conversation, destination, "message", {"text": "\n".join(lines)}, now)
        elif not interpreter and conversation.interpreter_id is not None:
            copy = f"[{case}] {staff.name} :\n{text}"
            destination = repo.staff_destination(conversation.interpreter_id)
            await self._enqueue(session, conversation, destination, "message", {"text": copy}, now)
        if not interpreter and not machine and language != self.staff_language:
            await self._to_staff(
                session,
                staff,
                conversation,
                f"Pas de traduction automatique vers « {language} » : votre message est parti tel quel. "
                "/invite pour faire venir un·e interprète.",
                now,
            )

    async def _press(self, session: AsyncSession, staff: Staff, press: StaffPress, now: datetime) -> StaffOutcome:
        conversation = await repo.by_public_id(session, press.case)
        if conversation is None:
            return StaffOutcome(toast="Ce dossier n'existe plus.")
        if press.action == "claim":
            return await self._claim(session, staff, conversation, now)
        if press.action == "case":
            return await self._focus(session, staff, conversation, now)
        if conversation.caseworker_id != staff.id or conversation.case_status not in OPEN:
            return StaffOutcome(toast="Ce dossier n'est pas le vôtre, ou il est clos.")
        other = await session.get(Staff, press.target or 0)
        if other is None or other.removed_at is not None:
            return StaffOutcome(toast="Cette personne ne fait plus partie de l'équipe.")
        if press.action == "invite":
            return await self._invite(session, staff, other, conversation, now)
        return await self._transfer(session, staff, other, conversation, now)

    async def _claim(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> StaffOutcome:
        if staff.role != "caseworker":
            return StaffOutcome(toast="Seul·e un·e travailleur·se social·e peut prendre un dossier.")
        if not await repo.claim_case(session, conversation.id, staff.id, now):
            await session.refresh(conversation)
            holder = await session.get(Staff, conversation.caseworker_id) if conversation.caseworker_id else None
            if holder is not None and holder.id == staff.id:
                return StaffOutcome(toast="Vous avez déjà ce dossier.")
            who = holder.name if holder is not None else "quelqu'un d'autre"
            return StaffOutcome(toast=f"Dossier déjà pris par {who}.")
        await session.refresh(conversation)
        staff.focus_id = conversation.id
        case = conversation.public_id
        log.info("case claimed", extra={"case": case, "staff": staff.id})
        await self._enqueue(
            session, conversation, repo.GROUP, "retire", {"text": f"Dossier {case} — pris par {staff.name}"}, now
        )
        await self._send_summary(session, staff, conversation, now)
        if not conversation.quick_exit:
            await self._to_victim(session, conversation, Msg("handoff.claimed"), now)
        await self.transcript.append(
            session, conversation, [Entry("system", now.isoformat(), "event", text=f"claimed by {staff.name}")]
        )
        return StaffOutcome(
            toast="Le dossier est à vous : le résumé est dans votre conversation avec le bot.",
            conversation_ids=(conversation.id,),
        )

    async def _send_summary(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> None:
        summary = self._open_summary(conversation) or f"Dossier {conversation.public_id} (pas de résumé)."
        await self._to_staff(session, staff, conversation, f"{summary}\n\n{staff_text.HELP}", now)

    async def _focus(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime
    ) -> StaffOutcome:
        if staff.id not in (conversation.caseworker_id, conversation.interpreter_id) or (
            conversation.case_status not in OPEN
        ):
            return StaffOutcome(toast="Ce dossier n'est pas le vôtre, ou il est clos.")
        staff.focus_id = conversation.id
        await self._to_staff(
            session, staff, conversation, f"Dossier en cours : {conversation.public_id}. Vos messages y vont.", now
        )
        return StaffOutcome(conversation_ids=(conversation.id,))

    async def _invite(
        self, session: AsyncSession, staff: Staff, interpreter: Staff, conversation: Conversation, now: datetime
    ) -> StaffOutcome:
        if interpreter.role != "interpreter":
            return StaffOutcome(toast="Cette personne n'est pas interprète.")
        conversation.interpreter_id = interpreter.id
        interpreter.focus_id = conversation.id
        case = conversation.public_id
        language = staff_text.language_line(self.catalogs, conversation.language)
        await self._to_staff(
            session,
            interpreter,
            conversation,
            f"{staff.name} vous invite sur le dossier {case}.\n{language}\n"
            "Vous voyez les mots de la personne tels qu'elle les écrit. Ce que vous écrivez ici lui parvient "
            f"tel quel, et parvient à {staff.name} traduit en français.",
            now,
        )
        await self._to_staff(session, staff, conversation, f"{interpreter.name} rejoint le dossier {case}.", now)
        await self.transcript.append(
            session,
            conversation,
            [Entry("system", now.isoformat(), "event", text=f"interpreter {interpreter.name} joined")],
        )
        return StaffOutcome(toast=f"{interpreter.name} est invité·e.", conversation_ids=(conversation.id,))

    async def _transfer(
        self, session: AsyncSession, staff: Staff, other: Staff, conversation: Conversation, now: datetime
    ) -> StaffOutcome:
        if other.role != "caseworker" or other.id == staff.id:
            return StaffOutcome(toast="Choisissez un·e autre travailleur·se social·e.")
        conversation.caseworker_id = other.id
        other.focus_id = conversation.id
        if staff.focus_id == conversation.id:
            staff.focus_id = None
        case = conversation.public_id
        await self._to_staff(session, staff, conversation, f"Dossier {case} transmis à {other.name}.", now)
        await self._to_staff(session, other, conversation, f"{staff.name} vous transmet le dossier {case}.", now)
        await self._send_summary(session, other, conversation, now)
        await self.transcript.append(
            session,
            conversation,
            [Entry("system", now.isoformat(), "event", text=f"transferred from {staff.name} to {other.name}")],
        )
        return StaffOutcome(toast=f"Transmis à {other.name}.", conversation_ids=(conversation.id,))

    async def _command(
        self, session: AsyncSession, staff: Staff, command: engine.Command, reply_to: str | None, now: datetime
    ) -> StaffOutcome:
        name = command.name
        if name in ("cases", "start", "help"):
            return await self._list(session, staff, now)
        if name == "case":
            conversation = await repo.by_public_id(session, command.args.strip()) if command.args.strip() else None
            if conversation is None:
                return StaffOutcome(reply="Dossier inconnu. /cases pour la liste.")
            outcome = await self._focus(session, staff, conversation, now)
            return StaffOutcome(reply=outcome.toast) if outcome.toast else outcome
        conversation = await self._target(session, staff, reply_to)
        if conversation is None:
            return StaffOutcome(reply=NO_CASE)
        if name == "summary":
            await self._send_summary(session, staff, conversation, now)
            return StaffOutcome(conversation_ids=(conversation.id,))
        if conversation.caseworker_id != staff.id:
            await self._to_staff(
                session, staff, conversation, "Seul·e le ou la responsable du dossier peut faire cela.", now
            )
            return StaffOutcome(conversation_ids=(conversation.id,))
        if name == "close":
            await self._close(session, staff, conversation, now)
            return StaffOutcome(conversation_ids=(conversation.id,))
        if name in ("invite", "transfer"):
            role = "interpreter" if name == "invite" else "caseworker"
            candidates = [s for s in await repo.active_staff(session, role) if s.id != staff.id]
            if name == "invite" and conversation.language:
                speaking = [s for s in candidates if conversation.language in s.languages.split(",")]
                candidates = speaking or candidates
            if not candidates:
                who = "interprète" if name == "invite" else "autre travailleur·se social·e"
                await self._to_staff(
                    session, staff, conversation, f"Aucun·e {who} enregistré·e (accueil staff add).", now
                )
                return StaffOutcome(conversation_ids=(conversation.id,))
            buttons = [
                [
                    [
                        f"{s.name} ({s.languages})" if s.languages else s.name,
                        StaffPress(name, conversation.public_id, s.id).data(),
                    ]
                ]
                for s in candidates[:20]
            ]
            question = "Quel·le interprète inviter ?" if name == "invite" else "À qui transmettre le dossier ?"
            await self._enqueue(
                session,
                conversation,
                repo.staff_destination(staff.id),
                "message",
                {"text": f"[{conversation.public_id}] {question}", "buttons": buttons},
                now,
            )
            return StaffOutcome(conversation_ids=(conversation.id,))
        await self._to_staff(session, staff, conversation, staff_text.HELP, now)
        return StaffOutcome(conversation_ids=(conversation.id,))

    async def _close(self, session: AsyncSession, staff: Staff, conversation: Conversation, now: datetime) -> None:
        case = conversation.public_id
        conversation.case_status = "closed"
        conversation.closed_at = now
        conversation.status = "ended"
        conversation.state_sealed = None
        conversation.summary_sealed = None
        if not conversation.quick_exit:
            await self._to_victim(session, conversation, Msg("handoff.case_closed"), now)
        for member_id in filter(None, (conversation.caseworker_id, conversation.interpreter_id)):
            member = await session.get(Staff, member_id)
            if member is not None:
                if member.focus_id == conversation.id:
                    member.focus_id = None
                await self._to_staff(session, member, conversation, f"Dossier {case} clos par {staff.name}.", now)
        await self.transcript.append(
            session, conversation, [Entry("system", now.isoformat(), "event", text=f"closed by {staff.name}")]
        )
        log.info("case closed", extra={"case": case})

    async def _list(self, session: AsyncSession, staff: Staff, now: datetime) -> StaffOutcome:
        mine = await repo.open_cases(session, staff.id)
        queued = [c for c in await repo.open_cases(session) if c.case_status == "queued"]
        lines = ["Vos dossiers :" if mine else "Vous n'avez aucun dossier en cours."]
        buttons: list[tuple[tuple[str, str], ...]] = []
        for c in mine:
            current = " (en cours)" if staff.focus_id == c.id else ""
            lines.append(f"• {c.public_id}{' 🔴' if c.urgent else ''} — {c.language or '?'} — {c.case_status}{current}")
            buttons.append(((f"Aller au dossier {c.public_id}", StaffPress("case", c.public_id).data()),))
        if queued:
            lines.append(f"En attente dans la file : {len(queued)}")
            for c in queued[:10]:
                lines.append(
                    f"• {c.public_id}{' 🔴' if c.urgent else ''} — {c.language or '?'} — "
                    f"{staff_text.waiting(c.queued_at, now)}"
                )
                if staff.role == "caseworker":
                    buttons.append(((f"Prendre {c.public_id}", StaffPress("claim", c.public_id).data()),))
        lines.append("")
        lines.append(staff_text.HELP)
        return StaffOutcome(reply="\n".join(lines), buttons=tuple(buttons))

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

    # --- plumbing ----------------------------------------------------------------------

    async def _translate(self, text: str, source: str, target: str) -> str | None:
        if source == target or self.translator is None or not text.strip():
            return None
        try:
            return (await self.translator.translate(text, source, target)).text
        except TranslationError:
            log.warning("no machine translation for a relayed message", extra={"source": source, "target": target})
            return None

    async def _to_victim(self, session: AsyncSession, conversation: Conversation, message: Msg, now: datetime) -> None:
        text = self.catalogs.render(conversation.language, message)
        await self._enqueue(session, conversation, repo.VICTIM, "message", {"text": text}, now)
        await self.transcript.append(
            session, conversation, [Entry("bot", now.isoformat(), "message", text=text, language=conversation.language)]
        )

    async def _to_staff(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, text: str, now: datetime
    ) -> None:
        payload: dict[str, Any] = {"text": text}
        await self._enqueue(session, conversation, repo.staff_destination(staff.id), "message", payload, now)

    async def _enqueue(
        self,
        session: AsyncSession,
        conversation: Conversation,
        destination: str,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        await self.postbox.put(session, conversation, kind, payload, now, destination=destination)

    def _seal_summary(self, conversation: Conversation, text: str) -> bytes:
        return self.keys.seal(text.encode(), f"summary:{conversation.public_id}")

    def _open_summary(self, conversation: Conversation) -> str | None:
        if conversation.summary_sealed is None:
            return None
        return self.keys.open(conversation.summary_sealed, f"summary:{conversation.public_id}").decode()

    def _add_to_summary(self, conversation: Conversation, entry: Entry, now: datetime) -> None:
        text = self._open_summary(conversation) or ""
        if "\nÉcrit depuis la remise :" not in text:
            text += "\n\nÉcrit depuis la remise :"
        words = staff_text.victim_words(entry.text or "", entry.translation, conversation.language, self.staff_language)
        text += f"\n({now:%H:%M} UTC)\n" + "\n".join(words)
        conversation.summary_sealed = self._seal_summary(conversation, text)

    def _when(self, moment: datetime, language: str | None) -> str:
        """A day and time as people write them in `language` (CLDR patterns, offline)."""
        try:
            locale = Locale.parse(BABEL_LOCALES.get(language or "fr", language or "fr"))
        except (ValueError, UnknownLocaleError):
            locale = Locale.parse("fr")
        day = format_skeleton("MMMMEEEEd", moment, tzinfo=moment.tzinfo, locale=locale)
        hour = format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale)
        pattern = str(getattr(locale.datetime_formats["medium"], "pattern", locale.datetime_formats["medium"]))
        return pattern.replace("{1}", day).replace("{0}", hour)


#: Where Babel knows a language under another code.
BABEL_LOCALES = {"tl": "fil"}
RELAYED_MEDIA = frozenset({"photo", "document", "voice", "video", "audio", "video_note"})
MEDIA_NAMES = {
    "photo": "photo",
    "document": "document",
    "voice": "message vocal",
    "video": "vidéo",
    "audio": "audio",
    "video_note": "message vidéo",
}
