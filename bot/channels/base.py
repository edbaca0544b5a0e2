"""What every channel speaks: the neutral values that cross between a channel and the conversation.

A channel adapter (`bot.channels.telegram`, `bot.channels.terminal`, ...) turns
its own events into an `Inbound` and hands it to the receiver
(`bot.conversation.receiver`); what comes back is an `Outcome`. Buttons are
encoded as `turn:value` so a press on an old keyboard can be recognised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, Protocol

from bot import engine
from bot.engine import Effect

#: How far back a channel lets a bot delete messages in a private chat (Telegram: 48 hours).
ERASABLE_FOR = timedelta(hours=48)


#: Staff buttons: "claim:CASE", "invite:CASE:STAFF", "transfer:CASE:STAFF", "case:CASE".
STAFF_ACTIONS = ("claim", "invite", "transfer", "case")

@dataclass(frozen=True)
class StaffPress:
    """A press on one of the staff's buttons (in the staff group or a private chat)."""

    action: str
    case: str
    target: int | None = None

    @classmethod
    def parse(cls, data: str) -> StaffPress | None:
        parts = data.split(":")
        if len(parts) not in (2, 3) or parts[0] not in STAFF_ACTIONS or len(data) > 64:
            return None
        target = None
        if len(parts) == 3:
            if not parts[2].isdigit():
                return None
            target = int(parts[2])
        return cls(parts[0], parts[1], target)

    def data(self) -> str:
        return f"{self.action}:{self.case}" + (f":{self.target}" if self.target is not None else "")


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
    event: engine.Event
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
    """What handling an `Inbound` gave the channel to do at once: a toast, a direct reply to staff."""

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


@dataclass(frozen=True)
class OutItem:
    """One thing to do in a chat: the one typed value from the conversation to the channel.

    The conversation renders an effect into an `OutItem`, the outbox keeps it sealed
    (`to_sealed`/`from_sealed`) and the channel's `Sender` carries it out."""

    kind: str  # message | notice | close | reselect | erase | retire | copy
    text: str = ""
    buttons: list[list[list[str]]] = field(default_factory=list)  # rows of (label, button data)
    echo: str = ""
    target: str | None = None  # the channel's id of the message to change (found at delivery)
    refs: list[str] = field(default_factory=list)  # messages to erase, or notices to retire
    source: list[str] | None = None  # (chat, message id) of a message to copy
    silent: bool = False

    def to_sealed(self) -> bytes:
        """What the outbox seals: every field but the kind (a column) and the target (found at delivery)."""
        kept = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("kind", "target")}
        return json.dumps({name: value for name, value in kept.items() if value not in ("", [], None, False)}).encode()

    @classmethod
    def from_sealed(cls, kind: str, raw: bytes) -> OutItem:
        """The item as queued (rows queued by earlier versions hold the same keys)."""
        data: dict[str, Any] = json.loads(raw)
        source = data.get("source")
        return cls(
            kind=kind,
            text=str(data.get("text", "")),
            buttons=[[[str(part) for part in button] for button in row] for row in data.get("buttons", [])],
            echo=str(data.get("echo", "")),
            refs=[str(ref) for ref in data.get("refs", [])],
            source=None if source is None else [str(part) for part in source],
            silent=bool(data.get("silent", False)),
        )


class Sender(Protocol):
    """The channel's one primitive: do `item` in `chat`; return the new message's id (a text sent
    in several parts: their ids, space-separated, the last one carrying the buttons).

    Failures are `DeliveryError`s: `RetryLater`, `RecipientGone`, `Refused` or `TokenRevoked`."""

    async def deliver(self, chat: str, item: OutItem) -> str | None: ...

