"""What every channel speaks: the neutral values that cross between a channel and the conversation.

A channel adapter (`bot.channels.telegram`, `bot.channels.terminal`, ...) turns
its own events into an `Inbound` and hands it to the receiver
(`bot.conversation.receiver`); what comes back is an `Outcome`. Buttons are
encoded as `turn:value` so a press on an old keyboard can be recognised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot import engine
from bot.engine import Effect
from bot.handoff.buttons import StaffPress

#: How far back a channel lets a bot delete messages in a private chat (Telegram: 48 hours).
ERASABLE_FOR = timedelta(hours=48)


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
