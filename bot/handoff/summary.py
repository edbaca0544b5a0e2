"""A case's intake summary, sealed under the server key while the case is open.

The summary is written at handoff (`bot.handoff.texts.summary`), grows with what
the person writes while the case waits, is shown to whoever takes the case, and
is dropped when the case closes; the transcript keeps it sealed to the recipients.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.handoff import texts
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

    def add(self, conversation: Conversation, words: Sequence[str], now: datetime) -> None:
        """What the person wrote while the case waited, at the summary's end."""
        self.keep(conversation, texts.written_since_handoff(self.read(conversation) or "", words, now))
