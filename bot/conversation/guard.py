"""Around the conversation service: who is ignored, warned or refused, and what is kept when handling fails.

- **Blocked users** (`accueil block CASE`): their updates are acknowledged and
  ignored; nothing of them is stored.
- **A flood** (`bot.conversation.limits`): one warning in the person's language with the
  emergency numbers; the transcript records how many messages were then
  dropped, never what they said.
- **Too many conversations** opened by one person in 24 hours: no new one; a
  kind reply with the emergency numbers and the victim helpline, in the latest.
- **An update no handler could apply**: kept sealed under the server key
  (`parked_updates`) for `accueil parked replay`, and the person is told their
  message is kept.

Each method works inside the session it is given, like the conversation service.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.app.settings import PROJECT_ROOT
from bot.conversation.limits import Dropped, is_quick_exit
from bot.conversation.service import ConversationService, Inbound, Outcome, utcnow
from bot.engine import Msg
from bot.errors import ConfigError
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


class Safety:
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
        return await store.blocked_case(session, channel, self.user_ref(channel, user))

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

    async def park(
        self, session: AsyncSession, inbound: Inbound, error: BaseException, attempts: int, *, reply: bool
    ) -> tuple[ParkedUpdate, Outcome]:
        """Keep an update no handler could apply, sealed; with `reply`, tell the person in their conversation."""
        now = self.clock()
        parked = None
        if inbound.update_key is not None:
            parked = await store.parked_for(session, inbound.channel, inbound.update_key)
        if parked is None:
            ref = repo.new_public_id()
            parked = await store.park(
                session,
                ParkedUpdate(
                    ref=ref,
                    channel=inbound.channel,
                    update_key=inbound.update_key,
                    payload_sealed=self.keys.seal(inbound_to_json(inbound), f"parked:{ref}"),
                    error=describe(error),
                    attempts=attempts,
                    parked_at=now,
                ),
            )
        else:
            parked.attempts += attempts
            parked.error = describe(error)
        if not reply:
            return parked, Outcome(None)
        conversation = await self._conversation(session, inbound.channel, inbound.user)
        if conversation is None:
            return parked, Outcome(None)
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
        return parked, Outcome(conversation.id)

    def open_parked(self, parked: ParkedUpdate) -> Inbound:
        return inbound_from_json(self.keys.open(parked.payload_sealed, f"parked:{parked.ref}"))

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
        said = {"text": self.catalogs.render(conversation.language, Msg(key))}
        queued = await self.service.postbox.put(session, conversation, "message", said, now)
        bot = Entry("bot", now.isoformat(), "message", text=queued["text"], language=conversation.language)
        await self.service.transcript.append(session, conversation, [*entries, bot])


def _said(event: engine.Event, language: str | None, at: str) -> list[Entry]:
    if isinstance(event, engine.TextIn):
        return [Entry("victim", at, "message", text=event.text, language=language)]
    if isinstance(event, engine.Command):
        return [Entry("victim", at, "command", text=f"/{event.name} {event.args}".strip(), language=language)]
    if isinstance(event, engine.Start):
        return [Entry("victim", at, "command", text="/start", language=language)]
    if isinstance(event, engine.Media):
        return [Entry("victim", at, "media", text=event.kind)]
    return [Entry("victim", at, "event", text="pressed a button of an earlier conversation")]


def describe(error: BaseException) -> str:
    """An exception as an operator's log may show it: its type and where Accueil raised it.

    Never its message, which may quote what a person wrote; except a `ConfigError`,
    whose message is ours and says what to change."""
    if isinstance(error, ConfigError):
        return str(error)[:300]
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(PROJECT_ROOT) and ".venv" not in path.parts:
            return f"{name} at {path.relative_to(PROJECT_ROOT)}:{frame.lineno}"[:300]
    return name[:300]


# --- an update, sealed and back ----------------------------------------------------


def inbound_to_json(inbound: Inbound) -> bytes:
    data: dict[str, Any] = {}
    for field in dataclasses.fields(inbound):
        value = getattr(inbound, field.name)
        if field.name == "event":
            data["event"] = _event_to_dict(value)
        elif value is None or isinstance(value, str | int | bool):
            data[field.name] = value
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            kind = type(value)
            data[field.name] = {"class": f"{kind.__module__}:{kind.__qualname__}", "fields": dataclasses.asdict(value)}
    return json.dumps(data, default=_bytes_out).encode()


def _bytes_out(value: object) -> dict[str, str]:
    if isinstance(value, bytes):  # a file the person sent, say
        return {"base64": base64.b64encode(value).decode()}
    raise TypeError(f"cannot keep a {type(value).__name__} in a parked update")


def _bytes_in(value: dict[str, Any]) -> Any:
    return base64.b64decode(value["base64"]) if value.keys() == {"base64"} else value


def inbound_from_json(raw: bytes) -> Inbound:
    data: dict[str, Any] = json.loads(raw, object_hook=_bytes_in)
    data["event"] = _event_from_dict(data["event"])
    known = {field.name for field in dataclasses.fields(Inbound)}
    for name, value in list(data.items()):
        if name not in known:
            del data[name]
        elif isinstance(value, dict) and name != "event":
            module, _, qualname = str(value["class"]).partition(":")
            if not module.startswith("bot."):
                raise ValueError(f"a parked update names a class outside Accueil: {module}")
            data[name] = getattr(importlib.import_module(module), qualname)(**value["fields"])
    return Inbound(**data)


def _event_to_dict(event: engine.Event) -> dict[str, Any]:
    if isinstance(event, engine.TextIn):
        return {"type": "text", "text": event.text, "guesses": list(event.guesses)}
    if isinstance(event, engine.Press):
        return {"type": "press", "turn": event.turn, "value": event.value}
    if isinstance(event, engine.Command):
        return {"type": "command", "name": event.name, "args": event.args}
    if isinstance(event, engine.Media):
        return {"type": "media", "kind": event.kind}
    return {"type": "start"}


def _event_from_dict(data: dict[str, Any]) -> engine.Event:
    kind = data["type"]
    if kind == "text":
        return engine.TextIn(str(data["text"]), tuple(data.get("guesses", ())))
    if kind == "press":
        return engine.Press(int(data["turn"]), str(data["value"]))
    if kind == "command":
        return engine.Command(str(data["name"]), str(data.get("args", "")))
    if kind == "media":
        return engine.Media(str(data["kind"]))
    return engine.Start()
