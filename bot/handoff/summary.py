"""A case's intake summary, sealed under the server key only until a caseworker has it.

The summary is written at handoff (`bot.handoff.texts.summary`) and grows with
what the person writes while the case waits. Whoever takes the case is handed
it (`take`): from then on it is only in the message queued to them, whose
sealed payload the outbox destroys once the channel confirms the delivery. A
quick exit destroys it at once (`discard`). The transcript keeps it sealed to
the recipients: `/summary` and a transfer afterwards say so
(`bot.handoff.texts.summary_in_transcript`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.handoff import texts
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation
from storage.sealed import Sealed


def _context(conversation: Conversation) -> str:
    return Sealed.SUMMARY.of(conversation.public_id)


class SealedSummary:
    def __init__(self, keys: ServerKey) -> None:
        self.keys = keys

    def keep(self, conversation: Conversation, text: str) -> None:
        conversation.summary_sealed = self.keys.seal(text.encode(), _context(conversation))

    def read(self, conversation: Conversation) -> str | None:
        if conversation.summary_sealed is None:
            return None
        return self.keys.open(conversation.summary_sealed, _context(conversation)).decode()

    def take(self, conversation: Conversation) -> str | None:
        """The summary, handed over: the conversation no longer holds it."""
        text = self.read(conversation)
        self.discard(conversation)
        return text

    def discard(self, conversation: Conversation) -> None:
        conversation.summary_sealed = None

    async def add(self, session: AsyncSession, conversation: Conversation, words: Sequence[str], now: datetime) -> bool:
        """What the person wrote while the case waits, at the summary's end (or after a line saying
        where the summary is, once it was handed over). False, and nothing kept, when the case was
        taken since `conversation` was read: one conditional UPDATE, so a claim applied meanwhile
        never leaves a summary behind it."""
        held = self.read(conversation) or texts.summary_in_transcript(conversation.public_id)
        text = texts.written_since_handoff(held, words, now)
        sealed = self.keys.seal(text.encode(), _context(conversation))
        if not await repo.keep_summary_while_queued(session, conversation.id, sealed):
            return False
        set_committed_value(conversation, "summary_sealed", sealed)
        return True
