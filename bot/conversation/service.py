"""The conversation service: the one entry every channel calls.

`ConversationService.handle` works inside the database session it is given and
never opens or commits one: the channel owns the transaction, so the new state,
the record that the update was applied and the messages to send are committed
together or not at all. Messages to send go to the outbox (`bot.outbox.delivery`),
which the channel then delivers.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.engine import Dialog, Effect, Msg, State
from bot.engine.runtime import Button
from bot.errors import SealError
from bot.handoff import Handoff, StaffPress
from bot.language.detect import LanguageGuesser
from bot.language.i18n import Catalogs
from bot.language.machine_catalogs import NOTICE, MachineCatalogs
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from bot.translation.port import NoTranslationPath, TranslationError, Translator
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation, Staff

log = logging.getLogger("accueil.conversation")

SELECTED = "✓ "
MT_NOTICE_GIVEN = "mt_notice"  # a mark: the person was told the prompts are machine-translated
#: What someone who is not registered staff is told when pressing a staff button.
STAFF_ONLY = "Réservé à l'équipe de l'association."
#: How far back the Bot API lets a bot delete messages in a private chat.
ERASABLE_FOR = timedelta(hours=48)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Attachment:
    """A file the person sent (photo, document, voice ...), to be sealed into the transcript."""

    name: str
    mime: str | None
    data: bytes


@dataclass(frozen=True)
class Inbound:
    """One event from a channel, in neutral terms."""

    channel: str
    user: str  # the channel's user id; only its keyed pseudonym is stored
    chat: str  # where replies go; stored sealed
    event: engine.Inbound
    update_key: str | None = None  # the channel's id for this event, for de-duplication
    language_hint: str | None = None
    message_ref: str | None = None  # the channel's id of the victim's message (to erase it on quick exit)
    reply_to: str | None = None  # the channel's id of the message this one answers (staff replies)
    staff_press: StaffPress | None = None  # a press on a staff button (the event is then ignored)
    attachment: Attachment | None = None
    edited: bool = False  # a new wording of a message already sent
    forwarded: bool = False  # forwarded from another chat


@dataclass(frozen=True)
class Outcome:
    conversation_id: int | None
    toast: str | None = None
    duplicate: bool = False
    effects: Sequence[Effect] = field(default_factory=tuple)
    #: Other conversations whose outbox has something new (a staff member's action).
    touched: tuple[int, ...] = ()
    #: A direct answer to a staff member, about no one case.
    reply: str | None = None
    reply_buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


def button_data(turn: int, value: str) -> str:
    return f"{turn}:{value}"


def parse_button(data: str) -> engine.Press | None:
    turn, sep, value = data.partition(":")
    if not sep or not turn.isdigit() or not value or len(data) > 64:
        return None
    return engine.Press(int(turn), value)


def parse_command(text: str) -> engine.Command | None:
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return None
    return engine.Command(name, args.strip())


class ConversationService:
    def __init__(
        self,
        dialog: Dialog,
        catalogs: Catalogs,
        keys: ServerKey,
        *,
        clock: Callable[[], datetime] = utcnow,
        translator: Translator | None = None,
        staff_language: str = "fr",
        guesser: LanguageGuesser | None = None,
        handoff: Handoff | None = None,
    ) -> None:
        self.handoff = handoff
        self.guesser = guesser
        self.translator = translator
        self.staff_language = staff_language
        self.dialog = dialog
        self.catalogs = catalogs
        self.keys = keys
        self.clock = clock
        self.languages = catalogs.languages()
        self.machine = MachineCatalogs(catalogs, lambda: self.translator, staff_language)
        self.transcript = TranscriptWriter(keys)
        self.postbox = Postbox(keys, catalogs)

    async def handle(self, session: AsyncSession, inbound: Inbound) -> Outcome:
        now = self.clock()
        user_ref = self.keys.pseudonym(inbound.channel, inbound.user)
        if self.handoff is not None:
            staff = await repo.find_staff(session, inbound.channel, user_ref)
            if staff is not None and (inbound.staff_press is not None or inbound.chat == inbound.user):
                return await self._from_staff(session, staff, inbound, now)
        if inbound.staff_press is not None:
            return Outcome(None, toast=STAFF_ONLY)
        if inbound.edited:
            return await self._edited(session, inbound, user_ref, now)
        conversation = await repo.open_conversation(session, inbound.channel, user_ref)
        event = inbound.event
        before: State | None = None
        translations: dict[str, str] = {}
        guesses: tuple[str, ...] = ()
        offered = self.machine.offered() if self.translator is not None else {}
        languages = engine.Languages(self.languages.choices, offered)
        if conversation is None:
            guesses = self._guess(event, offered)
            hint = inbound.language_hint if inbound.language_hint in self.catalogs else None
            language = guesses[0] if guesses else hint
        else:
            before, translations = self._working(conversation)
            language = conversation.language
            if isinstance(event, engine.TextIn) and self._choosing_language(before):
                event = replace(event, guesses=self._guess(event, offered))
        # A language with no catalog speaks through the English catalog, machine-translated once.
        wanted = {language, event.value if isinstance(event, engine.Press) else None}
        if isinstance(event, engine.TextIn) and event.guesses:
            wanted.add(event.guesses[0])
        for code in wanted:
            if code in offered and not await self.machine.ensure(code):
                languages = engine.Languages(self.languages.choices)
                guesses = tuple(g for g in guesses if g != code)
                if language == code:
                    language = guesses[0] if guesses else None
        # Translate before the first write, so no write lock is held while a model runs.
        entries, needs_interpreter = await self._said(event, language, before.step if before else None, now)
        if inbound.forwarded and entries and entries[0].kind == "message":
            entries[0] = replace(entries[0], kind="forwarded")
        if inbound.attachment is not None and entries:
            entries[0] = replace(
                entries[0],
                name=inbound.attachment.name,
                mime=inbound.attachment.mime,
                data=base64.b64encode(inbound.attachment.data).decode(),
            )
        if inbound.update_key is not None and not await repo.claim_update(
            session, inbound.channel, inbound.update_key, now
        ):
            log.info("duplicate update ignored", extra={"channel": inbound.channel})
            return Outcome(None, duplicate=True)
        if needs_interpreter and conversation is not None:
            conversation.interpreter_needed = True
        if inbound.message_ref is not None and conversation is not None:
            await repo.record_inbound(session, conversation.id, inbound.message_ref, now)
        if (
            conversation is not None
            and self.handoff is not None
            and isinstance(event, engine.TextIn | engine.Media)
            and await self.handoff.from_victim(
                session, conversation, event, entries, inbound.chat, inbound.message_ref, now
            )
        ):
            # A person has the case: what was written went to them; the transcript keeps it.
            await self.transcript.append(session, conversation, entries)
            conversation.updated_at = now
            return Outcome(conversation.id)
        if conversation is None or before is None:
            conversation, state, effects = await self._open(
                session, inbound, user_ref, now, language, guesses, languages
            )
            if needs_interpreter:
                conversation.interpreter_needed = True
            if inbound.message_ref is not None:
                await repo.record_inbound(session, conversation.id, inbound.message_ref, now)
        else:
            state, effects = engine.advance(self.dialog, before, event, now, languages)
            self._keep_translation(before, state, event, entries, translations)
        toast = await self._apply(session, conversation, state, effects, entries, now, translations)
        return Outcome(conversation.id, toast=toast, effects=tuple(effects))

    async def _from_staff(self, session: AsyncSession, staff: Staff, inbound: Inbound, now: datetime) -> Outcome:
        assert self.handoff is not None
        if inbound.update_key is not None and not await repo.claim_update(
            session, inbound.channel, inbound.update_key, now
        ):
            return Outcome(None, duplicate=True)
        event = inbound.staff_press or inbound.event
        done = await self.handoff.from_staff(session, staff, event, inbound.reply_to)
        return Outcome(
            None, toast=done.toast, touched=done.conversation_ids, reply=done.reply, reply_buttons=done.buttons
        )

    async def _edited(self, session: AsyncSession, inbound: Inbound, user_ref: str, now: datetime) -> Outcome:
        """Record the new wording (and pass it on during a case); the step is not run again."""
        conversation = await repo.open_conversation(session, inbound.channel, user_ref)
        if conversation is None or not isinstance(inbound.event, engine.TextIn):
            return Outcome(None)
        said, _ = await self._said(inbound.event, conversation.language, None, now)
        if inbound.update_key is not None and not await repo.claim_update(
            session, inbound.channel, inbound.update_key, now
        ):
            return Outcome(None, duplicate=True)
        entries = [replace(entry, kind="edit") for entry in said]
        if self.handoff is not None:
            await self.handoff.from_victim(session, conversation, inbound.event, entries, inbound.chat, None, now)
        await self.transcript.append(session, conversation, entries)
        return Outcome(conversation.id)

    async def _open(
        self,
        session: AsyncSession,
        inbound: Inbound,
        user_ref: str,
        now: datetime,
        language: str | None,
        guesses: tuple[str, ...],
        languages: engine.Languages,
    ) -> tuple[Conversation, State, list[Effect]]:
        state, effects = engine.begin(self.dialog, now, languages, language, guesses)
        if isinstance(inbound.event, engine.Press):
            effects = [engine.Toast(Msg("common.stale_button")), *effects]
        public_id = repo.new_public_id()
        conversation = Conversation(
            public_id=public_id,
            channel=inbound.channel,
            user_ref=user_ref,
            chat_sealed=self.keys.seal(inbound.chat.encode(), f"chat:{public_id}"),
            language=state.language,
            status="intake",
            urgent=False,
            interpreter_needed=False,
            created_at=now,
            updated_at=now,
        )
        await repo.add_conversation(session, conversation)
        await self.transcript.start(session, conversation)
        log.info("conversation opened", extra={"case": public_id, "channel": inbound.channel})
        return conversation, state, effects

    def _guess(self, event: engine.Inbound, offered: Mapping[str, str]) -> tuple[str, ...]:
        if self.guesser is None or not isinstance(event, engine.TextIn):
            return ()
        self.guesser.add(offered)
        return self.guesser.guess(event.text[:500])

    def _choosing_language(self, state: State) -> bool:
        if state.status != "intake":
            return False
        step = self.dialog.steps.get(state.step)
        return state.step == engine.runtime.LANGUAGE_STEP or (
            step is not None and step.kind == engine.StepKind.LANGUAGE
        )

    def _working(self, conversation: Conversation) -> tuple[State, dict[str, str]]:
        """The engine's state, and the staff-language translations of free-text answers."""
        if conversation.state_sealed is None:
            raise SealError("the conversation has no working state")
        raw = json.loads(self.keys.open(conversation.state_sealed, f"state:{conversation.public_id}"))
        return State.from_dict(raw), {str(k): str(v) for k, v in dict(raw.get("mt", {})).items()}

    def _keep_translation(
        self, before: State, after: State, event: engine.Inbound, entries: list[Entry], translations: dict[str, str]
    ) -> None:
        """A free-text answer's translation, kept beside it for the intake summary."""
        step = self.dialog.steps.get(before.step)
        if step is None or not step.save or not isinstance(event, engine.TextIn) or not entries:
            return
        if after.answers.get(step.save) != before.answers.get(step.save) and entries[0].translation:
            translations[step.save] = entries[0].translation

    def chat_of(self, conversation: Conversation) -> str:
        return self.keys.open(conversation.chat_sealed, f"chat:{conversation.public_id}").decode()

    async def _apply(
        self,
        session: AsyncSession,
        conversation: Conversation,
        state: State,
        effects: Sequence[Effect],
        entries: list[Entry],
        now: datetime,
        translations: dict[str, str] | None = None,
    ) -> str | None:
        toast: str | None = None
        language = conversation.language
        at = now.isoformat()
        for effect in effects:
            if isinstance(effect, engine.LanguageChanged):
                language = effect.language
                if self.catalogs.has_machine(language) and MT_NOTICE_GIVEN not in state.marks:
                    # Once, before the first machine-translated prompt: say so, in that language.
                    state = replace(state, marks=state.marks | {MT_NOTICE_GIVEN})
                    notice = {"text": self.catalogs.render(language, Msg(NOTICE))}
                    queued = await self.postbox.put(session, conversation, "message", notice, now, language=language)
                    entries.append(Entry("bot", at, "message", text=queued["text"], language=language))
            elif isinstance(effect, engine.Marked):
                if effect.mark == "urgent":
                    conversation.urgent = True
                entries.append(Entry("system", at, "event", text=f"marked {effect.mark}"))
                log.info("case marked", extra={"case": conversation.public_id, "mark": effect.mark})
            elif isinstance(effect, engine.HandedOff):
                entries.append(Entry("system", at, "event", text=f"handed off: {effect.reason}"))
                log.info("handed off", extra={"case": conversation.public_id, "reason": effect.reason})
                conversation.language = language
                if self.handoff is not None and conversation.case_status is None:
                    entries.extend(
                        await self.handoff.queue(
                            session, conversation, state, translations or {}, effect.reason, now
                        )
                    )
            elif isinstance(effect, engine.Toast):
                toast = self.catalogs.render(language, effect.text)
            elif isinstance(effect, engine.Discretion):
                conversation.discreet = effect.on
                entries.append(Entry("system", at, "event", text=f"discreet mode {'on' if effect.on else 'off'}"))
            elif isinstance(effect, engine.QuickExit):
                await self.erase(session, conversation, now)
                if self.handoff is not None:
                    await self.handoff.victim_left(session, conversation, now)
                entries.append(Entry("system", at, "event", text="the victim used the quick exit"))
            else:
                item = self._render(effect, language)
                if item is None:
                    continue
                kind, turn, payload = item
                payload = await self.postbox.put(
                    session, conversation, kind, payload, now, language=language, turn=turn
                )
                if kind == "message":
                    entries.append(Entry("bot", at, "message", text=payload["text"], language=language))
                elif kind == "close" and payload["echo"]:
                    entries.append(Entry("victim", at, "answer", text=payload["echo"], language=language))
        if state.status != "intake" and state.answers:
            # The intake is over: its answers go into the transcript, out of the working state.
            entries.append(Entry("system", at, "answers", answer=state.to_dict()["answers"]))
            state = replace(state, answers={}, selection=())
        await self.transcript.append(session, conversation, entries)
        conversation.language = language
        conversation.status = state.status
        conversation.updated_at = now
        conversation.state_sealed = (
            None
            if state.status == "ended"
            else self.keys.seal(
                json.dumps({**state.to_dict(), "mt": translations or {}}).encode(), f"state:{conversation.public_id}"
            )
        )
        return toast

    async def erase(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """The quick exit: erase every message the Bot API lets us erase (48 hours), queue nothing else."""
        conversation.quick_exit = True
        await session.flush()
        await repo.drop_pending(session, conversation.id)
        refs = await repo.erasable_messages(session, conversation.id, now - ERASABLE_FOR)
        await self.postbox.put(session, conversation, "erase", {"refs": refs}, now)
        log.info("quick exit", extra={"case": conversation.public_id, "messages": len(refs)})

    async def _said(
        self, event: engine.Inbound, language: str | None, step: str | None, now: datetime
    ) -> tuple[list[Entry], bool]:
        """What the victim did, as written, and whether an interpreter will be needed.

        A button press is recorded later, with its answer."""
        at = now.isoformat()
        if isinstance(event, engine.TextIn):
            translation, needs_interpreter = await self._to_staff(event.text, language)
            entry = Entry(
                "victim",
                at,
                "message",
                text=event.text,
                language=language,
                step=step,
                translation=translation,
                machine_translated=translation is not None,
            )
            return [entry], needs_interpreter
        if isinstance(event, engine.Command):
            text = f"/{event.name} {event.args}".strip()
            return [Entry("victim", at, "command", text=text, language=language, step=step)], False
        if isinstance(event, engine.Media):
            return [Entry("victim", at, "media", text=event.kind, step=step)], False
        return [], False

    async def _to_staff(self, text: str, source: str | None) -> tuple[str | None, bool]:
        """The victim's words in the staff language (or None), and whether an interpreter is needed."""
        if source is None or source == self.staff_language or not text.strip():
            return None, False
        if self.translator is None:
            return None, True
        try:
            return (await self.translator.translate(text, source, self.staff_language)).text, False
        except NoTranslationPath:
            return None, True
        except TranslationError:
            log.warning("translation failed; the text is kept as written", extra={"language": source})
            return None, True

    def _render(self, effect: Effect, language: str | None) -> tuple[str, int | None, dict[str, Any]] | None:
        text = self.catalogs.render
        if isinstance(effect, engine.Say):
            return "message", None, {"text": text(language, effect.text)}
        if isinstance(effect, engine.Ask):
            return (
                "message",
                effect.turn,
                {
                    "text": text(language, effect.text),
                    "buttons": self._keyboard(effect.buttons, effect.turn, language),
                },
            )
        if isinstance(effect, engine.Reselect):
            return "reselect", effect.turn, {"buttons": self._keyboard(effect.buttons, effect.turn, language)}
        if isinstance(effect, engine.Answered):
            return (
                "close",
                effect.turn,
                {
                    "text": text(language, effect.question),
                    "echo": ", ".join(text(language, label) for label in effect.echo),
                },
            )
        return None

    def _keyboard(self, rows: Sequence[Sequence[Button]], turn: int, language: str | None) -> list[list[list[str]]]:
        return [
            [
                [
                    (SELECTED if button.selected else "") + self.catalogs.render(language, button.label),
                    button_data(turn, button.value),
                ]
                for button in row
            ]
            for row in rows
        ]
