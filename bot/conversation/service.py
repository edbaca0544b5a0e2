"""The conversation service: what one update from a victim (or a staff member) does.

`ConversationService.handle` works inside the database session the receiver
(`bot.conversation.receiver`) gives it and never opens or commits one, so the new
state, the record that the update was applied and the messages to send are
committed together or not at all. It reads the conversation, translates what
the person wrote (before the first write, so no write lock waits on a model),
lets the engine advance, and hands the effects to `bot.conversation.effects`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.channels.base import Inbound, Outcome
from bot.clock import Clock, utcnow
from bot.conversation.effects import EffectApplier, Turn
from bot.conversation.limits import is_quick_exit
from bot.engine import Dialog, Effect, Msg, State
from bot.errors import SealError
from bot.handoff import Handoff
from bot.language.detect import LanguageGuesser
from bot.language.i18n import Catalogs
from bot.language.machine_catalogs import MachineCatalogs
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from bot.translation.port import NoTranslationPath, TranslationError, Translator
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation, Staff
from storage.sealed import Sealed

log = logging.getLogger("accueil.conversation")

#: What someone who is not registered staff is told when pressing a staff button.
STAFF_ONLY = "Réservé à l'équipe de l'association."


@dataclass
class Reading:
    """Where a victim's update finds their conversation, before anything is written."""

    event: engine.Event
    before: State | None
    translations: dict[str, str]
    guesses: tuple[str, ...]
    language: str | None
    languages: engine.Languages


class ConversationService:
    def __init__(
        self,
        dialog: Dialog,
        catalogs: Catalogs,
        keys: ServerKey,
        *,
        clock: Clock = utcnow,
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
        self.effects = EffectApplier(catalogs, keys, self.postbox, self.transcript, handoff)

    async def handle(self, session: AsyncSession, inbound: Inbound) -> Outcome:
        now = self.clock()
        user_ref = self.keys.pseudonym(inbound.channel, inbound.user)
        if self.handoff is not None:
            staff = await repo.active_staff_member(session, inbound.channel, user_ref)
            if staff is not None and (inbound.staff_press is not None or inbound.chat == inbound.user):
                return await self._from_staff(session, staff, inbound, now)
        if inbound.staff_press is not None:
            return Outcome(None, toast=STAFF_ONLY)
        if inbound.edited:
            return await self._edited(session, inbound, user_ref, now)
        conversation = await repo.open_conversation(session, inbound.channel, user_ref)
        if conversation is None and is_quick_exit(inbound.event):
            return await self._exit_again(session, inbound, user_ref, now)
        return await self._from_victim(session, inbound, conversation, user_ref, now)

    async def _from_victim(
        self,
        session: AsyncSession,
        inbound: Inbound,
        conversation: Conversation | None,
        user_ref: str,
        now: datetime,
    ) -> Outcome:
        """Read, translate, claim the update, then relay it to the case or let the engine advance."""
        reading = await self._read(conversation, inbound)
        # Translate before the first write, so no write lock is held while a model runs.
        entries, needs_interpreter = await self._said(
            reading.event, reading.language, reading.before.step if reading.before else None, now
        )
        entries = _as_received(entries, inbound)
        if not await self._claim(session, inbound, now):
            log.info("duplicate update ignored", extra={"channel": inbound.channel})
            return Outcome(None, duplicate=True)
        if conversation is not None:
            await self._note(session, conversation, inbound, needs_interpreter, now)
            if await self._relayed(session, conversation, reading.event, entries, inbound, now):
                return Outcome(conversation.id)
        if conversation is None or reading.before is None:
            conversation, state, effects = await self._open(session, inbound, user_ref, now, reading)
            await self._note(session, conversation, inbound, needs_interpreter, now)
        else:
            state, effects = engine.advance(self.dialog, reading.before, reading.event, now, reading.languages)
            self._keep_translation(reading, state, entries)
        turn = Turn(session, conversation, state, conversation.language, entries, now, reading.translations)
        toast = await self.effects.apply(turn, effects)
        return Outcome(conversation.id, toast=toast, effects=tuple(effects))

    async def _note(
        self,
        session: AsyncSession,
        conversation: Conversation,
        inbound: Inbound,
        needs_interpreter: bool,
        now: datetime,
    ) -> None:
        """What the update says about the case: an interpreter needed, a message to erase on quick exit."""
        if needs_interpreter:
            conversation.interpreter_needed = True
        if inbound.message_ref is not None:
            await repo.record_inbound(session, conversation.id, inbound.message_ref, now)

    async def erase(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """The quick exit: erase what the channel lets us erase from the person's phone."""
        await self.effects.erase(session, conversation, now)

    async def _exit_again(self, session: AsyncSession, inbound: Inbound, user_ref: str, now: datetime) -> Outcome:
        """An exit with no conversation open (a second press, an old button, `/exit` after the button).

        It opens nothing and says nothing: the last conversation's chat is erased again, the
        exit just typed included, so the chat stays empty."""
        if not await self._claim(session, inbound, now):
            return Outcome(None, duplicate=True)
        latest = await repo.latest_conversation(session, inbound.channel, user_ref)
        if latest is None:
            return Outcome(None)
        if inbound.message_ref is not None:
            await repo.record_inbound(session, latest.id, inbound.message_ref, now)
        await self.erase(session, latest, now)
        entry = Entry("system", now.isoformat(), "event", text="the victim used the quick exit again")
        await self.transcript.append(session, latest, [entry])
        return Outcome(latest.id)

    async def _read(self, conversation: Conversation | None, inbound: Inbound) -> Reading:
        """The working state, the language, and the languages that can be offered."""
        event = inbound.event
        offered = self.machine.offered() if self.translator is not None else {}
        reading = Reading(event, None, {}, (), None, engine.Languages(self.languages.choices, offered))
        if conversation is None:
            reading.guesses = self._guess(event, offered)
            hint = inbound.language_hint if inbound.language_hint in self.catalogs else None
            reading.language = reading.guesses[0] if reading.guesses else hint
        else:
            reading.before, reading.translations = self._working(conversation)
            reading.language = conversation.language
            if isinstance(event, engine.TextIn) and self._choosing_language(reading.before):
                reading.event = replace(event, guesses=self._guess(event, offered))
        await self._machine_languages(reading, offered)
        return reading

    async def _machine_languages(self, reading: Reading, offered: Mapping[str, str]) -> None:
        """A language with no catalog speaks through the English catalog, machine-translated once."""
        event = reading.event
        wanted = {reading.language, event.value if isinstance(event, engine.Press) else None}
        if isinstance(event, engine.TextIn) and event.guesses:
            wanted.add(event.guesses[0])
        for code in wanted:
            if code is not None and code in offered and not await self.machine.ensure(code):
                reading.languages = engine.Languages(self.languages.choices)
                reading.guesses = tuple(g for g in reading.guesses if g != code)
                if reading.language == code:
                    reading.language = reading.guesses[0] if reading.guesses else None

    async def _claim(self, session: AsyncSession, inbound: Inbound, now: datetime) -> bool:
        """Whether this update is seen for the first time (it is then recorded as applied)."""
        if inbound.update_key is None:
            return True
        return await repo.claim_update(session, inbound.channel, inbound.update_key, now)

    async def _relayed(
        self,
        session: AsyncSession,
        conversation: Conversation,
        event: engine.Event,
        entries: list[Entry],
        inbound: Inbound,
        now: datetime,
    ) -> bool:
        """During a case, what the person writes goes to the people who have it (the handoff records it)."""
        if self.handoff is None or not isinstance(event, engine.TextIn | engine.Media):
            return False
        if not await self.handoff.from_victim(
            session, conversation, event, entries, inbound.chat, inbound.message_ref, now
        ):
            return False
        conversation.updated_at = now
        return True

    async def _from_staff(self, session: AsyncSession, staff: Staff, inbound: Inbound, now: datetime) -> Outcome:
        assert self.handoff is not None
        if not await self._claim(session, inbound, now):
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
        if not await self._claim(session, inbound, now):
            return Outcome(None, duplicate=True)
        entries = [replace(entry, kind="edit") for entry in said]
        relayed = self.handoff is not None and await self.handoff.from_victim(
            session, conversation, inbound.event, entries, inbound.chat, None, now
        )
        if not relayed:  # a relayed edit is recorded by the handoff
            await self.transcript.append(session, conversation, entries)
        return Outcome(conversation.id)

    async def _open(
        self,
        session: AsyncSession,
        inbound: Inbound,
        user_ref: str,
        now: datetime,
        reading: Reading,
    ) -> tuple[Conversation, State, list[Effect]]:
        state, effects = engine.begin(self.dialog, now, reading.languages, reading.language, reading.guesses)
        if isinstance(inbound.event, engine.Press):
            effects = [engine.Toast(Msg("common.stale_button")), *effects]
        public_id = repo.new_public_id()
        conversation = Conversation(
            public_id=public_id,
            channel=inbound.channel,
            user_ref=user_ref,
            chat_sealed=self.keys.seal(inbound.chat.encode(), Sealed.CHAT.of(public_id)),
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

    def _guess(self, event: engine.Event, offered: Mapping[str, str]) -> tuple[str, ...]:
        if self.guesser is None or not isinstance(event, engine.TextIn):
            return ()
        self.guesser.add(offered)
        return self.guesser.guess(event.text[:500])

    def _choosing_language(self, state: State) -> bool:
        if state.status != "intake":
            return False
        step = self.dialog.steps.get(state.step)
        return state.step == engine.LANGUAGE_STEP or (
            step is not None and step.kind == engine.StepKind.LANGUAGE
        )

    def _working(self, conversation: Conversation) -> tuple[State, dict[str, str]]:
        """The engine's state, and the staff-language translations of free-text answers."""
        if conversation.state_sealed is None:
            raise SealError("the conversation has no working state")
        raw = json.loads(self.keys.open(conversation.state_sealed, Sealed.STATE.of(conversation.public_id)))
        return State.from_dict(raw), {str(k): str(v) for k, v in dict(raw.get("mt", {})).items()}

    def _keep_translation(self, reading: Reading, after: State, entries: list[Entry]) -> None:
        """A free-text answer's translation, kept beside it for the intake summary."""
        before = reading.before
        step = self.dialog.steps.get(before.step) if before is not None else None
        if before is None or step is None or not step.save or not isinstance(reading.event, engine.TextIn):
            return
        if entries and after.answers.get(step.save) != before.answers.get(step.save) and entries[0].translation:
            reading.translations[step.save] = entries[0].translation

    def chat_of(self, conversation: Conversation) -> str:
        return self.keys.open(conversation.chat_sealed, Sealed.CHAT.of(conversation.public_id)).decode()

    async def _said(
        self, event: engine.Event, language: str | None, step: str | None, now: datetime
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
            return await self._media_said(event, language, step, at)
        return [], False

    async def _media_said(
        self, event: engine.Media, language: str | None, step: str | None, at: str
    ) -> tuple[list[Entry], bool]:
        """A file the person sent; its caption is their words, translated like any free text."""
        if not event.caption:
            return [Entry("victim", at, "media", text=event.kind, step=step)], False
        translation, needs_interpreter = await self._to_staff(event.caption, language)
        entry = Entry(
            "victim",
            at,
            "media",
            text=event.kind,
            caption=event.caption,
            language=language,
            step=step,
            translation=translation,
            machine_translated=translation is not None,
        )
        return [entry], needs_interpreter

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


def _as_received(entries: list[Entry], inbound: Inbound) -> list[Entry]:
    """The first entry marked as forwarded, and carrying the file the person sent, as it came."""
    if not entries:
        return entries
    first = entries[0]
    if inbound.forwarded and first.kind == "message":
        first = replace(first, kind="forwarded")
    if inbound.attachment is not None:
        attachment = inbound.attachment
        first = replace(
            first, name=attachment.name, mime=attachment.mime, data=base64.b64encode(attachment.data).decode()
        )
    return [first, *entries[1:]]
