"""Relaying during a case: the person's words to the staff, the staff's to the person.

The person's words reach the caseworker translated into the staff language,
marked as machine translation, with the original beneath; an interpreter sees
them as written. Photos, documents, voice messages, and shared locations and
contacts are passed on as copies; the words written under a photo, video or
document go with its copy the same way (after it, when too long for a caption).
A caseworker's words reach the person translated into their language and marked
as machine translation in it; an interpreter's reach the person as written and
the caseworker translated. Whatever the person writes while the case still
waits is added to its summary. Everything relayed is kept in the transcript,
the person's words before what the bot answers them (before the case is taken,
the conversation service keeps them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.engine import Msg
from bot.handoff import texts
from bot.handoff.cases import OPEN
from bot.handoff.notify import StaffNotifier
from bot.handoff.summary import SealedSummary
from bot.handoff.victim import VictimSide
from bot.language.i18n import Catalogs
from bot.transcript.writer import Entry, TranscriptWriter
from bot.translation.port import TranslationError, Translator
from storage.models import Conversation, Staff

log = logging.getLogger("accueil.handoff")

#: What the person sends that is passed on to the staff as a copy, under a caption naming the case.
RELAYED_MEDIA = frozenset({"photo", "document", "voice", "video", "audio", "video_note"})
#: What the person shares that is passed on as a copy after a line naming the case (no caption).
SHARED = frozenset({"location", "contact"})
#: The longest caption Telegram puts under a photo, video or document (in UTF-16 code units).
CAPTION_LIMIT = 1024


class Relay:
    def __init__(
        self,
        catalogs: Catalogs,
        transcript: TranscriptWriter,
        summaries: SealedSummary,
        victim: VictimSide,
        notifier: StaffNotifier,
        *,
        translator: Translator | None,
        staff_language: str,
    ) -> None:
        self.catalogs = catalogs
        self.transcript = transcript
        self.summaries = summaries
        self.victim = victim
        self.notifier = notifier
        self.translator = translator
        self.staff_language = staff_language

    # --- the person → the staff -------------------------------------------------------------

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
        """Relay what the person wrote to whoever has the case; False when nobody has it yet.

        When it is relayed, the person's words (`said`) are recorded first, before anything the
        bot answers them, so the transcript keeps the order of events."""
        if conversation.case_status == "queued" and said and _written(said[0]):
            if await self._add_to_summary(session, conversation, said[0], now):
                return False
            # Taken while this update was applied: the words go to whoever has the case now.
            await session.refresh(conversation, ["case_status", "caseworker_id", "interpreter_id"])
        if conversation.case_status not in OPEN or conversation.caseworker_id is None:
            return False
        await self.transcript.append(session, conversation, said)
        if isinstance(event, engine.TextIn):
            entry = said[0] if said else None
            await self._words(session, conversation, conversation.caseworker_id, event.text, entry, now)
        elif message_ref is not None and event.kind in SHARED:
            await self._share(session, conversation, event.kind, (chat, message_ref), now)
        elif message_ref is not None and event.kind in RELAYED_MEDIA:
            entry = said[0] if said else None
            await self._pass_on(session, conversation, event.kind, entry, (chat, message_ref), now)
        else:
            await self.victim.tell(session, conversation, Msg("handoff.media_not_relayed"), now)
        return True

    async def _words(
        self,
        session: AsyncSession,
        conversation: Conversation,
        caseworker_id: int,
        text: str,
        entry: Entry | None,
        now: datetime,
    ) -> None:
        case = conversation.public_id
        translation = entry.translation if entry else None
        lines = [
            texts.relayed_head(case, entry.kind if entry else None),
            *texts.victim_words(text, translation, conversation.language, self.staff_language),
        ]
        await self.notifier.tell(session, conversation, caseworker_id, "\n".join(lines), now)
        if conversation.interpreter_id is not None:
            original = texts.original_for_interpreter(case, text)
            await self.notifier.tell(session, conversation, conversation.interpreter_id, original, now)

    async def _share(
        self, session: AsyncSession, conversation: Conversation, kind: str, source: tuple[str, str], now: datetime
    ) -> None:
        """A location or contact: a line naming the case, then the copy (it takes no caption)."""
        for staff_id in _members(conversation):
            await self.notifier.tell(
                session, conversation, staff_id, texts.shared_head(conversation.public_id, kind), now
            )
            await self.notifier.pass_on(session, conversation, staff_id, source, "", now)

    async def _pass_on(
        self,
        session: AsyncSession,
        conversation: Conversation,
        kind: str,
        entry: Entry | None,
        source: tuple[str, str],
        now: datetime,
    ) -> None:
        """A copy to whoever has the case, its caption the person's words: translated for the caseworker,
        as written for the interpreter. Too long for a caption, the words follow the copy as a message."""
        case = conversation.public_id
        caption = entry.caption if entry is not None else None
        for staff_id in _members(conversation):
            words: list[str] = []
            if caption and staff_id == conversation.interpreter_id:
                words = texts.original_words(caption)
            elif caption and entry is not None:
                words = texts.victim_words(caption, entry.translation, conversation.language, self.staff_language)
            full = texts.captioned(case, kind, words)
            if _fits_caption(full):
                await self.notifier.pass_on(session, conversation, staff_id, source, full, now)
                continue
            await self.notifier.pass_on(session, conversation, staff_id, source, texts.caption_follows(case, kind), now)
            await self.notifier.tell(session, conversation, staff_id, full, now)

    async def _add_to_summary(
        self, session: AsyncSession, conversation: Conversation, entry: Entry, now: datetime
    ) -> bool:
        words = texts.victim_words(_written(entry), entry.translation, conversation.language, self.staff_language)
        return await self.summaries.add(session, conversation, words, now)

    # --- the staff → the person -------------------------------------------------------------

    async def to_victim(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, text: str, now: datetime
    ) -> str:
        """Queue a staff member's words to the person; what the person will read."""
        language = conversation.language or self.staff_language
        if staff.role == "interpreter":
            sent = await self._from_interpreter(session, staff, conversation, text, language, now)
        else:
            sent = await self._from_caseworker(session, staff, conversation, text, language, now)
        if conversation.case_status == "claimed":
            conversation.case_status = "active"
        return sent

    async def _from_interpreter(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, text: str, language: str, now: datetime
    ) -> str:
        """As written to the person; translated for the caseworker."""
        to_staff = await self._translate(text, language, self.staff_language)
        await self.victim.write(session, conversation, text, now)
        entry = Entry(
            staff.role,
            now.isoformat(),
            "message",
            text=text,
            language=language,
            translation=to_staff,
            machine_translated=to_staff is not None,
            by=staff.name,
        )
        await self.transcript.append(session, conversation, [entry])
        if conversation.caseworker_id is not None:
            lines = [
                texts.interpreter_said(conversation.public_id, staff.name),
                *texts.victim_words(text, to_staff, language, self.staff_language),
            ]
            await self.notifier.tell(session, conversation, conversation.caseworker_id, "\n".join(lines), now)
        return text

    async def _from_caseworker(
        self, session: AsyncSession, staff: Staff, conversation: Conversation, text: str, language: str, now: datetime
    ) -> str:
        """Translated for the person, marked as such in their language."""
        translated = await self._translate(text, self.staff_language, language)
        sent = text
        if translated is not None:
            mark = self.catalogs.render(language, Msg("handoff.machine_translated"))
            sent = f"{translated}\n\n({mark})"
        await self.victim.write(session, conversation, sent, now)
        entry = Entry(
            staff.role,
            now.isoformat(),
            "message",
            text=text,
            language=self.staff_language,
            translation=translated,
            machine_translated=translated is not None,
            by=staff.name,
        )
        await self.transcript.append(session, conversation, [entry])
        if conversation.interpreter_id is not None:
            copy = texts.caseworker_said(conversation.public_id, staff.name, text)
            await self.notifier.tell(session, conversation, conversation.interpreter_id, copy, now)
        if translated is None and language != self.staff_language:
            await self.notifier.tell(session, conversation, staff.id, texts.sent_untranslated(language), now)
        return sent

    async def _translate(self, text: str, source: str, target: str) -> str | None:
        if source == target or self.translator is None or not text.strip():
            return None
        try:
            return (await self.translator.translate(text, source, target)).text
        except TranslationError:
            log.warning("no machine translation for a relayed message", extra={"source": source, "target": target})
            return None


def _fits_caption(text: str) -> bool:
    return len(text.encode("utf-16-le")) // 2 <= CAPTION_LIMIT


def _written(entry: Entry) -> str:
    """What the person wrote in an entry: a message's text, a file's caption."""
    return (entry.caption or "") if entry.kind == "media" else (entry.text or "")


def _members(conversation: Conversation) -> list[int]:
    """Whoever works on the case: its caseworker, and its interpreter if one was invited."""
    return [staff_id for staff_id in (conversation.caseworker_id, conversation.interpreter_id) if staff_id]
