"""The outbox's `Sender` for the web chat: items become events for the person's page.

A message gets an id the page knows it by (a question's buttons are later
closed or changed through it). When no page is there to show it (the page was
closed, the connection is gone), the item waits in the outbox (`RetryLater`)
until the person comes back with their resume code. A chat ended by a quick
exit hears nothing more: what is still queued for it is discarded.
"""

from __future__ import annotations

from bot.channels.base import OutItem
from bot.channels.web.sessions import Sessions
from bot.errors import RetryLater

#: How long a message waits before the outbox tries a page that was away again.
WAIT = 5.0


class WebSender:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        if chat in self.sessions.exited:
            return None
        session = self.sessions.by_chat(chat)
        if item.kind in ("retire", "copy"):
            return None  # staff-side items: never for a person's page
        if session is None or not self.sessions.reachable(session):
            if item.kind == "erase":
                return None  # nothing of it is on any page any more
            raise RetryLater("the person's page is not open", after=WAIT)
        if item.kind in ("message", "notice"):
            ref = self.sessions.new_ref()
            session.push({"type": "message", "id": ref, "text": item.text, "buttons": item.buttons})
            return ref
        if item.kind == "close":
            session.push({"type": "close", "id": item.target, "echo": item.echo})
        elif item.kind == "reselect":
            session.push({"type": "reselect", "id": item.target, "buttons": item.buttons})
        elif item.kind == "erase":
            session.push({"type": "erase"})
        return None
