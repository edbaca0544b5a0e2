"""The outbox's `Sender` for the web chat: items become events for the person's page.

A message gets an id the page knows it by (a question's buttons are later
closed or changed through it). When no page is there to show it (the page was
closed, the connection is gone, a quick exit), the item waits in the outbox
(`RetryLater`, marked `away`: no error) until the page is back or the person
comes back with their resume code, which makes it due at once. An erasure for a
page that is gone has nothing left to erase.
"""

from __future__ import annotations

from bot.channels.base import OutItem
from bot.channels.web.sessions import Sessions
from bot.errors import RetryLater

#: How long a message waits before the outbox tries a page that was away again (a page that comes
#: back, or a resume, makes it due at once).
WAIT = 300.0


class WebSender:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        session = self.sessions.by_chat(chat)
        if item.kind in ("retire", "copy"):
            return None  # staff-side items: never for a person's page
        if session is None or not self.sessions.reachable(session):
            if item.kind == "erase":
                return None  # nothing of it is on any page any more
            if session is not None:
                session.missed = True  # when its page asks again, what waits is made due
            raise RetryLater("the person's page is not open", after=WAIT, away=True)
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
