"""Putting something in the outbox: sealed, ordered, and discreet when the person asked for it.

Every message, edit or erasure for a chat is queued here, in the update's
transaction, and delivered later by `bot.outbox.delivery.Outbox`. The payload is sealed
under the server key, bound to its case.

Discreet mode: a phone's lock screen shows the first words of a message; in
discreet mode they say nothing ("New message"), and the message makes no sound.
What a lock screen shows is the phone's choice, not the bot's: the person is
also told how to turn message previews off in Telegram.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutItem
from bot.engine import Msg
from bot.language.i18n import Catalogs
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation
from storage.sealed import Sealed


def payload_context(public_id: str) -> str:
    """What a queued payload is sealed to: its case."""
    return Sealed.OUTBOX.of(public_id)


def discreetly(catalogs: Catalogs, conversation: Conversation, language: str | None, item: OutItem) -> OutItem:
    """In discreet mode a message to the person is silent and opens with a neutral line, so the
    lock screen's preview shows nothing of what follows."""
    if not conversation.discreet:
        return item
    neutral = catalogs.render(language, Msg("common.discreet_prefix"))
    return replace(item, text=f"{neutral}\n\n\n{item.text}", silent=True)


class Postbox:
    def __init__(self, keys: ServerKey, catalogs: Catalogs) -> None:
        self.keys = keys
        self.catalogs = catalogs

    async def put(
        self,
        session: AsyncSession,
        conversation: Conversation,
        item: OutItem,
        now: datetime,
        *,
        language: str | None = None,
        turn: int | None = None,
        destination: str = repo.VICTIM,
    ) -> OutItem:
        """Queue `item`; return it as queued (a message to the person may have become discreet).

        `language` is the person's when it is changing in this update (else the conversation's)."""
        if destination == repo.VICTIM and item.kind == "message":
            item = discreetly(self.catalogs, conversation, language or conversation.language, item)
        sealed = self.keys.seal(item.to_sealed(), payload_context(conversation.public_id))
        await repo.enqueue(session, conversation.id, item.kind, sealed, turn, now, destination)
        return item
