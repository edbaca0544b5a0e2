"""Around the conversation service: who is ignored, warned or refused, and what is kept when handling fails.

- **Blocked users** (`accueil block CASE`): their updates are acknowledged and
  ignored; nothing of them is stored.
- **A flood** (`bot.conversation.limits`): one warning in the person's language with the
  emergency numbers; the transcript records how many messages were then
  dropped, never what they said.
- **Too many conversations** opened by one person in 24 hours: no new one; a
  kind reply with the emergency numbers and the victim helpline, in the latest.
- **An update no handler could apply**: kept sealed by `bot.conversation.parking`;
  the person is told, here, that their message is kept.

Each method works inside the session it is given, like the conversation service.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.channels.base import Inbound, Outcome, OutItem
from bot.clock import utcnow
from bot.conversation.limits import Dropped, is_quick_exit
from bot.conversation.service import ConversationService
from bot.engine import Msg
from bot.transcript.writer import Entry
from storage import repo
from storage import safety as store
from storage.models import Conversation, ParkedUpdate

FLOOD_MESSAGE = "common.flood"
TOO_MANY_MESSAGE = "common.too_many_conversations"
ERROR_MESSAGE = "common.error_kept"
#: Catalog keys this module sends (checked in every catalog at start-up).
SAFETY_KEYS = frozenset({FLOOD_MESSAGE, TOO_MANY_MESSAGE, ERROR_MESSAGE})
DAY = timedelta(hours=24)


class Guard:
    def __init__(
        self,
        service: ConversationService,
        *,
        conversations_per_day: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.service = service
        self.keys = service.keys
        self.catalogs = service.catalogs
        self.conversations_per_day = conversations_per_day
        self.clock = clock

    def user_ref(self, channel: str, user: str) -> str:
        return self.keys.pseudonym(channel, user)

    async def blocked(self, session: AsyncSession, channel: str, user: str) -> str | None:
        """The case the user was blocked by, if they are blocked."""
        blocked, _ = await repo.who(session, channel, self.user_ref(channel, user))
        return blocked

    async def is_staff(self, session: AsyncSession, channel: str, user: str) -> bool:
        """A caseworker or interpreter: never limited (a relay to a victim must not be dropped)."""
        return await repo.find_staff(session, channel, self.user_ref(channel, user)) is not None

    async def refuse_new(self, session: AsyncSession, inbound: Inbound) -> Outcome | None:
        """Over the daily cap, a message that would open a conversation opens none: a kind reply instead.

        What the person wrote goes into the transcript of their latest conversation."""
        if self.conversations_per_day is None:
            return None
        user_ref = self.user_ref(inbound.channel, inbound.user)
        if await repo.open_conversation(session, inbound.channel, user_ref) is not None:
            return None
        now = self.clock()
        opened = await store.opened_since(session, inbound.channel, user_ref, now - DAY)
        if opened < self.conversations_per_day:
            return None
        latest = await repo.latest_conversation(session, inbound.channel, user_ref)
        if latest is None:
            return None
        if inbound.update_key is not None and not await repo.claim_update(
            session, inbound.channel, inbound.update_key, now
        ):
            return Outcome(None, duplicate=True)
        if inbound.message_ref is not None:
            await repo.record_inbound(session, latest.id, inbound.message_ref, now)
        at = now.isoformat()
        if is_quick_exit(inbound.event):  # still erases the chat, the kind replies included
            await self.service.erase(session, latest, now)
            entry = Entry("system", at, "event", text="the victim used the quick exit")
            await self.service.transcript.append(session, latest, [entry])
            return Outcome(latest.id)
        entries = [
            *_said(inbound.event, latest.language, at),
            Entry("system", at, "event", text=f"no new conversation: {opened} opened in 24 hours"),
        ]
        await self._say(session, latest, TOO_MANY_MESSAGE, entries, now)
        latest.updated_at = now
        return Outcome(latest.id)

    async def warn_flood(self, session: AsyncSession, inbound: Inbound) -> Outcome:
        """The one warning of a flood, in the person's conversation (none if they have none or are blocked)."""
        conversation = await self._conversation(session, inbound.channel, inbound.user)
        if conversation is None or await self.blocked(session, inbound.channel, inbound.user):
            return Outcome(None)
        now = self.clock()
        entry = Entry(
            "system",
            now.isoformat(),
            "event",
            text="messages arriving faster than a person types: warned once; the next are dropped until it calms down",
        )
        await self._say(session, conversation, FLOOD_MESSAGE, [entry], now)
        return Outcome(conversation.id)

    async def note_dropped(self, session: AsyncSession, channel: str, user: str, dropped: Dropped) -> str | None:
        """Record in the transcript how many messages a flood dropped (never their content), and their
        ids so a quick exit still erases them. Returns the case, if any."""
        conversation = await self._conversation(session, channel, user)
        if conversation is None:
            return None
        now = self.clock()
        for ref in dropped.refs:
            await repo.record_inbound(session, conversation.id, ref, now)
        entry = Entry(
            "system",
            now.isoformat(),
            "event",
            text=f"{dropped.count} message(s) dropped: sent faster than a person types; their content was not kept",
        )
        await self.service.transcript.append(session, conversation, [entry])
        return conversation.public_id

    async def kept(self, session: AsyncSession, inbound: Inbound, parked: ParkedUpdate) -> Outcome:
        """Tell the person, in their conversation, that the message they sent is kept (see `parking`)."""
        conversation = await self._conversation(session, inbound.channel, inbound.user)
        if conversation is None:
            return Outcome(None)
        now = self.clock()
        parked.public_id = conversation.public_id
        if inbound.message_ref is not None:
            await repo.record_inbound(session, conversation.id, inbound.message_ref, now)
        entry = Entry(
            "system",
            now.isoformat(),
            "event",
            text=f"a message could not be handled; it is kept sealed as {parked.ref} for an operator to replay",
        )
        await self._say(session, conversation, ERROR_MESSAGE, [entry], now)
        return Outcome(conversation.id)

    def error_text(self, language: str | None) -> str:
        """The 'your message is kept' message, for a person who has no conversation yet."""
        return self.catalogs.render(language if language in self.catalogs else None, Msg(ERROR_MESSAGE))

    async def _conversation(self, session: AsyncSession, channel: str, user: str) -> Conversation | None:
        user_ref = self.user_ref(channel, user)
        return await repo.open_conversation(session, channel, user_ref) or await repo.latest_conversation(
            session, channel, user_ref
        )

    async def _say(
        self, session: AsyncSession, conversation: Conversation, key: str, entries: list[Entry], now: datetime
    ) -> None:
        said = OutItem("message", self.catalogs.render(conversation.language, Msg(key)))
        queued = await self.service.postbox.put(session, conversation, said, now)
        bot = Entry("bot", now.isoformat(), "message", text=queued.text, language=conversation.language)
        await self.service.transcript.append(session, conversation, [*entries, bot])


def _said(event: engine.Event, language: str | None, at: str) -> list[Entry]:
    if isinstance(event, engine.TextIn):
        return [Entry("victim", at, "message", text=event.text, language=language)]
    if isinstance(event, engine.Command):
        return [Entry("victim", at, "command", text=f"/{event.name} {event.args}".strip(), language=language)]
    if isinstance(event, engine.Start):
        return [Entry("victim", at, "command", text="/start", language=language)]
    if isinstance(event, engine.Media):
        return [Entry("victim", at, "media", text=event.kind, caption=event.caption)]
    return [Entry("victim", at, "event", text="pressed a button of an earlier conversation")]
