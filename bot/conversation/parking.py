"""Updates no handler could apply: kept sealed under the server key for `accueil parked replay`.

The update is kept as the channel gave it (an `Inbound`), encoded by an explicit
codec: every field is named here, so a parked row can never make the bot build
an object of a type it did not expect.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.channels.base import Attachment, Inbound, StaffPress
from bot.errors import describe
from storage import repo
from storage import safety as store
from storage.crypto import ServerKey
from storage.models import ParkedUpdate
from storage.sealed import Sealed

_PLAIN = ("channel", "user", "chat", "update_key", "language_hint", "message_ref", "reply_to", "edited", "forwarded")


class Parking:
    def __init__(self, keys: ServerKey, clock: Callable[[], datetime]) -> None:
        self.keys = keys
        self.clock = clock

    async def park(self, session: AsyncSession, inbound: Inbound, error: BaseException, attempts: int) -> ParkedUpdate:
        """Keep `inbound` sealed (once per update: a second failure only counts the attempts)."""
        parked = None
        if inbound.update_key is not None:
            parked = await store.parked_for(session, inbound.channel, inbound.update_key)
        if parked is not None:
            parked.attempts += attempts
            parked.error = describe(error)
            return parked
        ref = repo.new_public_id()
        return await store.park(
            session,
            ParkedUpdate(
                ref=ref,
                channel=inbound.channel,
                update_key=inbound.update_key,
                payload_sealed=self.keys.seal(inbound_to_json(inbound), Sealed.PARKED.of(ref)),
                error=describe(error),
                attempts=attempts,
                parked_at=self.clock(),
            ),
        )

    def open(self, parked: ParkedUpdate) -> Inbound:
        return inbound_from_json(self.keys.open(parked.payload_sealed, Sealed.PARKED.of(parked.ref)))


def inbound_to_json(inbound: Inbound) -> bytes:
    data: dict[str, Any] = {name: getattr(inbound, name) for name in _PLAIN}
    data["event"] = _event_to_dict(inbound.event)
    if inbound.staff_press is not None:
        press = inbound.staff_press
        data["staff_press"] = {"action": press.action, "case": press.case, "target": press.target}
    if inbound.attachment is not None:
        attachment = inbound.attachment
        data["attachment"] = {
            "name": attachment.name,
            "mime": attachment.mime,
            "data": base64.b64encode(attachment.data).decode(),
        }
    return json.dumps(data).encode()


def inbound_from_json(raw: bytes) -> Inbound:
    data: dict[str, Any] = json.loads(raw)
    plain = {name: data[name] for name in _PLAIN if name in data}
    press = _fields(data.get("staff_press"))
    attachment = _fields(data.get("attachment"))
    return Inbound(
        **plain,
        event=_event_from_dict(data["event"]),
        staff_press=None if press is None else StaffPress(str(press["action"]), str(press["case"]), press["target"]),
        attachment=None
        if attachment is None
        else Attachment(str(attachment["name"]), attachment["mime"], _bytes(attachment["data"])),
    )


def _fields(value: Any) -> dict[str, Any] | None:
    """A nested value; rows parked by earlier versions wrap it as {"class": ..., "fields": {...}}."""
    if value is None:
        return None
    return dict(value["fields"]) if "fields" in value else dict(value)


def _bytes(value: Any) -> bytes:
    """File content: base64 text, or {"base64": ...} in rows parked by earlier versions."""
    return base64.b64decode(value["base64"] if isinstance(value, dict) else value)


def _event_to_dict(event: engine.Event) -> dict[str, Any]:
    if isinstance(event, engine.TextIn):
        return {"type": "text", "text": event.text, "guesses": list(event.guesses)}
    if isinstance(event, engine.Press):
        return {"type": "press", "turn": event.turn, "value": event.value}
    if isinstance(event, engine.Command):
        return {"type": "command", "name": event.name, "args": event.args}
    if isinstance(event, engine.Media):
        return {"type": "media", "kind": event.kind, "caption": event.caption}
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
        caption = data.get("caption")
        return engine.Media(str(data["kind"]), str(caption) if caption is not None else None)
    return engine.Start()
