"""The web chat's sessions: in memory only, gone when the page is gone.

A session is what one open page holds with the server: a random id (the one
cookie), a CSRF token, the chat address the outbox delivers to (a random id too,
used as the person's user id as well), and the events waiting for the page.
Nothing here is written anywhere. A session that no page has asked about for
`IDLE` seconds is dropped; a chat whose page is gone is not `reachable`, so the
sender makes its messages wait in the outbox (a resume code reattaches them).
What was delivered to a page that vanished before showing it (never
acknowledged: not written to its stream, not asked for again by its next poll)
is handed to whoever resumes the chat.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Seconds without any request (and no open event stream) before a session is dropped.
IDLE = 600.0
#: Seconds a page may be away (between two long polls, or reconnecting its stream) and still be delivered to.
AWAY = 5.0
#: Events a session keeps for a page that reconnects (`Last-Event-ID`).
KEPT_EVENTS = 200


@dataclass
class WebSession:
    id: str
    csrf: str
    chat: str
    address: str  # the client address's keyed pseudonym
    created: float
    seen: float
    language: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    #: The last event the page is known to have received.
    acked: int = 0
    listeners: int = 0
    counted: bool = False  # counted in its address's daily cap
    blocked: bool = False  # opened from the address of someone blocked: nothing it sends is taken
    missed: bool = False  # something waits in the outbox because the page was away
    resume_offered: bool = False
    resume_tries: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, event: dict[str, Any]) -> int:
        """Queue `event` for the page; its sequence number."""
        self.seq += 1
        self.events.append({**event, "seq": self.seq})
        del self.events[:-KEPT_EVENTS]
        self.changed.set()
        self.changed = asyncio.Event()
        return self.seq

    def after(self, seq: int) -> list[dict[str, Any]]:
        return [event for event in self.events if event["seq"] > seq]

    def unseen(self) -> list[dict[str, Any]]:
        """What was delivered here and never reached the page."""
        return [e for e in self.after(self.acked) if e["type"] in ("message", "close", "reselect")]

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """Every live session, by cookie and by chat address."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._by_id: dict[str, WebSession] = {}
        self._by_chat: dict[str, WebSession] = {}
        #: What pages that vanished never showed, by chat, for a resume.
        self.orphans: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self.away = AWAY
        self._refs = itertools.count(1)

    def new_ref(self) -> str:
        """A message's id, unique in this process (a resumed chat's old ids never collide with new ones)."""
        return str(next(self._refs))

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[WebSession]:
        return iter(list(self._by_id.values()))

    def open(self, address: str, chat: str | None = None) -> WebSession:
        now = self.monotonic()
        session = WebSession(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            chat=chat or secrets.token_urlsafe(18),
            address=address,
            created=now,
            seen=now,
        )
        self._by_id[session.id] = session
        self._by_chat[session.chat] = session
        return session

    def get(self, session_id: str | None) -> WebSession | None:
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is not None:
            session.seen = self.monotonic()
        return session

    def by_chat(self, chat: str) -> WebSession | None:
        return self._by_chat.get(chat)

    def attach(self, session: WebSession, chat: str) -> None:
        """`session` now speaks in `chat` (a resumed conversation); whoever held that chat lets go."""
        if self._by_chat.get(session.chat) is session:
            del self._by_chat[session.chat]
        _, unseen = self.orphans.pop(chat, (0.0, []))
        older = self._by_chat.get(chat)
        if older is not None and older is not session:
            unseen = unseen + older.unseen()
            self.close(older)
        session.chat = chat
        self._by_chat[chat] = session
        for event in unseen:
            session.push({key: value for key, value in event.items() if key != "seq"})

    def close(self, session: WebSession, *, exited: bool = False) -> None:
        """Forget `session` and everything it held (after a quick exit, even what its page never showed)."""
        self._by_id.pop(session.id, None)
        if self._by_chat.get(session.chat) is session:
            del self._by_chat[session.chat]
        if not exited and session.unseen():
            self.orphans[session.chat] = (self.monotonic(), session.unseen())
        session.events.clear()
        session.changed.set()

    def close_all(self) -> None:
        """At shutdown: every page's stream ends (what their pages never showed is kept for a resume)."""
        for session in self:
            self.close(session)

    def reachable(self, session: WebSession) -> bool:
        """A page is there to show what is delivered (its stream open, or it asked a moment ago)."""
        return session.listeners > 0 or self.monotonic() - session.seen < self.away

    def expire(self) -> int:
        """Drop sessions no page asked about for `IDLE` seconds; how many."""
        now = self.monotonic()
        idle = [s for s in self._by_id.values() if s.listeners == 0 and now - s.seen > IDLE]
        for session in idle:
            self.close(session)
        for chat in [c for c, (at, _) in self.orphans.items() if now - at > 24 * 3600]:
            del self.orphans[chat]
        return len(idle)
