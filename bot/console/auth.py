"""Who is signed in to the console: sessions in memory, CSRF tokens, sign-in attempts per address.

A session is a random id in an HttpOnly, SameSite=Strict cookie (Secure behind https). It ends after
`idle` seconds without a request the person made, at sign-out, and at once when the staff member is
removed from the team: every request reads their row again (`accueil staff remove` runs in another
process, so nothing but the database can tell). Sessions live in this process's memory only: a restart
signs everyone out, and nothing about them is ever written down.

Every state-changing request carries the session's CSRF token in a header and comes from the console's
own origin; SameSite=Strict already keeps the cookie off other sites' requests, the token makes sure.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

COOKIE = "accueil_console"
CSRF_HEADER = "X-CSRF-Token"
#: Minutes without a request before a session ends.
IDLE_SECONDS = 30 * 60


@dataclass
class Signed:
    """One signed-in browser."""

    id: str
    staff_id: int
    csrf: str
    last_seen: float


@dataclass
class SessionStore:
    idle: float = IDLE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _by_id: dict[str, Signed] = field(default_factory=dict)

    def open(self, staff_id: int) -> Signed:
        signed = Signed(secrets.token_urlsafe(32), staff_id, secrets.token_urlsafe(32), self.clock())
        self._by_id[signed.id] = signed
        return signed

    def get(self, session_id: str | None, *, touch: bool = True) -> Signed | None:
        """The live session with this id; an idle one is ended on the way."""
        if not session_id:
            return None
        signed = self._by_id.get(session_id)
        if signed is None:
            return None
        now = self.clock()
        if now - signed.last_seen > self.idle:
            self._by_id.pop(session_id, None)
            return None
        if touch:
            signed.last_seen = now
        return signed

    def end(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)

    def end_all(self, staff_id: int) -> int:
        gone = [sid for sid, signed in self._by_id.items() if signed.staff_id == staff_id]
        for sid in gone:
            del self._by_id[sid]
        return len(gone)

    def sweep(self) -> None:
        now = self.clock()
        for sid in [sid for sid, s in self._by_id.items() if now - s.last_seen > self.idle]:
            del self._by_id[sid]

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass
class Attempts:
    """At most `limit` sign-in or enrolment attempts per address in `window` seconds."""

    limit: int = 10
    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, list[float]] = field(default_factory=dict)

    def allow(self, address: str) -> bool:
        now = self.clock()
        recent = [t for t in self._seen.get(address, []) if now - t < self.window]
        if len(recent) >= self.limit:
            self._seen[address] = recent
            return False
        recent.append(now)
        self._seen[address] = recent
        return True

    def sweep(self) -> None:
        now = self.clock()
        for address in list(self._seen):
            if not [t for t in self._seen[address] if now - t < self.window]:
                del self._seen[address]


def address_of(request: web.Request) -> str:
    """Who is trying: the peer address (the operator's proxy on the same machine passes X-Forwarded-For)."""
    peer = request.remote or "?"
    if peer in ("127.0.0.1", "::1"):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return peer


def set_cookie(response: web.StreamResponse, signed: Signed, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE, signed.id, path="/console/", httponly=True, samesite="Strict", secure=secure, max_age=None
    )


def clear_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/console/", secure=secure, samesite="Strict", httponly=True)


def csrf_ok(request: web.Request, signed: Signed, origin: str) -> bool:
    """A state-changing request: the session's token in its header, from the console's own origin."""
    sent_origin = request.headers.get("Origin")
    if sent_origin is not None and sent_origin != origin:
        return False
    token = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(token.encode(), signed.csrf.encode())


def same_origin(request: web.Request, origin: str) -> bool:
    """A request without a session yet (sign-in): it must come from the console's own pages."""
    return request.headers.get("Origin") == origin
