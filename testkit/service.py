"""Driving the conversation service directly, without a channel: a receiver whose outbox delivers to a
`RecordingSender`, and a button press on the last question that sender received."""

from __future__ import annotations

from bot.app.compose import Core
from bot.channels.base import Inbound, parse_button
from bot.clock import utcnow
from bot.conversation.receiver import Receiver
from bot.outbox.delivery import Outbox
from testkit.fakes import RecordingSender

#: The ids of the person and chat the direct tests speak for.
USER = "42"
CHAT = "4242"


def receiver_for(core: Core, sender: RecordingSender) -> Receiver:
    """The receiver as a channel builds it, its outbox delivering to `sender`."""
    return Receiver(core.service, core.sessions, Outbox(core.sessions, core.keys, sender, utcnow))


def press_button(sender: RecordingSender, label: str, update: int) -> Inbound:
    """The person presses `label` on the last question `sender` delivered (update number `update`)."""
    question = sender.last_question()
    labels = [lab for row in question.buttons for lab, _ in row]
    data = next((d for row in question.buttons for lab, d in row if lab == label), None)
    if data is None:
        raise AssertionError(f"no button {label!r} on the last question; its buttons: {labels}")
    event = parse_button(data)
    if event is None:
        raise AssertionError(f"the button {label!r} carries data the bot does not parse: {data!r}")
    return Inbound(channel="test", user=USER, chat=CHAT, event=event, update_key=str(update))
