"""What the person is told about their case: in their language, queued in the outbox.

What the bot itself says (`tell`) is also kept in the transcript; what a staff
member wrote (`write`) is kept by the relay, with its translation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutItem
from bot.engine import Msg
from bot.language.i18n import Catalogs
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from storage import repo
from storage.models import Conversation


class VictimSide:
    def __init__(self, catalogs: Catalogs, postbox: Postbox, transcript: TranscriptWriter) -> None:
        self.catalogs = catalogs
        self.postbox = postbox
        self.transcript = transcript

    async def tell(self, session: AsyncSession, conversation: Conversation, message: Msg, now: datetime) -> None:
        text = self.catalogs.render(conversation.language, message)
        await self.write(session, conversation, text, now)
        entry = Entry("bot", now.isoformat(), "message", text=text, language=conversation.language)
        await self.transcript.append(session, conversation, [entry])

    async def write(self, session: AsyncSession, conversation: Conversation, text: str, now: datetime) -> None:
        await self.postbox.put(session, conversation, OutItem("message", text), now, destination=repo.VICTIM)
