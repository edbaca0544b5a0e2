"""The console's JSON API under /console/api/ and its sign-in under /console/auth/.

`guard` (a middleware) sits in front of every API route: no session, an idle one, or a staff member
removed from the team is 401 (their sessions end at once); a state-changing request without the
session's CSRF token, or from another origin, is 403. Each handler then checks the role and the case
through `bot.console.work`. Answers carry routing facts only: what anyone said is in the sealed
transcript, opened in the browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.console import auth, queue
from bot.console.passkeys import PasskeyError
from bot.console.work import Denied, Done, Operation
from storage.models import Staff

if TYPE_CHECKING:
    from bot.console import Console

log = logging.getLogger("accueil.console")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE = ("GET", "HEAD")
SIGNED = web.RequestKey("signed", auth.Signed)
MEMBER = web.RequestKey("member", Staff)
#: Checks a passkey's answer (the request body, its credential, now) and gives the staff id it proves.
Verify = Callable[[dict[str, Any], dict[str, Any], datetime], Awaitable[int]]


def failure(status: int, reason: str) -> web.HTTPException:
    """An HTTP error with a JSON body the page shows as is."""
    body = json.dumps({"error": reason})
    kinds: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
        410: web.HTTPGone,
        429: web.HTTPTooManyRequests,
    }
    return kinds.get(status, web.HTTPBadRequest)(text=body, content_type="application/json")


def make_guard(console: Console) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/console/api/"):
            signed = console.store.get(request.cookies.get(auth.COOKIE))
            if signed is None:
                raise failure(401, "Please sign in.")
            async with console.core.sessions() as session:
                member = await session.get(Staff, signed.staff_id)
                if member is not None:
                    session.expunge(member)
            if member is None or member.removed_at is not None:
                console.store.end_all(signed.staff_id)
                raise failure(401, "Please sign in.")
            if request.method not in SAFE and not auth.csrf_ok(request, signed, console.origin):
                raise failure(403, "This request was refused. Reload the page.")
            request[SIGNED], request[MEMBER] = signed, member
        elif request.path.startswith("/console/auth/") and not auth.same_origin(request, console.origin):
            raise failure(403, "This request was refused. Reload the page.")
        return await handler(request)

    return guard


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise failure(400, "The request was not understood.") from exc
    if not isinstance(data, dict):
        raise failure(400, "The request was not understood.")
    return data


def _member(request: web.Request) -> Staff:
    return request[MEMBER]


class Api:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.core = console.core

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/auth/enrol/options", self.enrol_options)
        r.add_post("/auth/enrol/verify", self.enrol_verify)
        r.add_post("/auth/signin/options", self.signin_options)
        r.add_post("/auth/signin/verify", self.signin_verify)
        r.add_get("/api/me", self.me)
        r.add_post("/api/signout", self.signout)
        r.add_get("/api/queue", self.queue)
        r.add_get("/api/events", self.events)
        r.add_get("/api/cases/{case}", self.case(lambda w: w.open))
        r.add_get("/api/cases/{case}/colleagues", self.case(lambda w: w.colleagues))
        r.add_get("/api/cases/{case}/bundle", self.bundle)
        r.add_post("/api/cases/{case}/claim", self.case(lambda w: w.claim))
        r.add_post("/api/cases/{case}/close", self.case(lambda w: w.close))
        r.add_post("/api/cases/{case}/reopen", self.case(lambda w: w.reopen))
        r.add_post("/api/cases/{case}/block", self.case(lambda w: w.block))
        r.add_post("/api/cases/{case}/reply", self.with_body(lambda w, b: w.reply(str(b.get("text", "")))))
        r.add_post("/api/cases/{case}/invite", self.with_body(lambda w, b: w.invite(_int(b.get("staff_id")))))
        r.add_post("/api/cases/{case}/transfer", self.with_body(lambda w, b: w.transfer(_int(b.get("staff_id")))))
        r.add_post("/api/cases/{case}/export", self.with_body(lambda w, b: w.audit(_export(b.get("format")))))

    # --- signing in ---------------------------------------------------------------------------

    def _limit(self, request: web.Request) -> None:
        if not self.console.attempts.allow(auth.address_of(request)):
            raise failure(429, "Too many attempts. Please wait a few minutes.")

    async def enrol_options(self, request: web.Request) -> web.StreamResponse:
        self._limit(request)
        body = await _body(request)
        try:
            options = await self.console.passkeys.enrol_options(str(body.get("token", "")), self.core.clock())
        except PasskeyError as exc:
            raise failure(exc.status, exc.reason) from exc
        return web.json_response(options)

    async def enrol_verify(self, request: web.Request) -> web.StreamResponse:
        passkeys = self.console.passkeys
        return await self._verified(
            request, lambda body, credential, now: passkeys.enrol(str(body.get("token", "")), credential, now)
        )

    async def signin_options(self, request: web.Request) -> web.StreamResponse:
        self._limit(request)
        return web.json_response(self.console.passkeys.signin_options())

    async def signin_verify(self, request: web.Request) -> web.StreamResponse:
        passkeys = self.console.passkeys
        return await self._verified(
            request, lambda body, credential, now: passkeys.signin(str(body.get("ceremony", "")), credential, now)
        )

    async def _verified(self, request: web.Request, verify: Verify) -> web.StreamResponse:
        """A passkey's answer (enrolment or sign-in), checked: a session for whom it proves, or a refusal."""
        self._limit(request)
        body = await _body(request)
        credential = body.get("credential")
        if not isinstance(credential, dict):
            raise failure(400, "The request was not understood.")
        try:
            staff_id = await verify(body, credential, self.core.clock())
        except PasskeyError as exc:
            raise failure(exc.status, exc.reason) from exc
        return self._signed_in(staff_id)

    def _signed_in(self, staff_id: int) -> web.StreamResponse:
        signed = self.console.store.open(staff_id)
        response = web.json_response({"signed_in": True})
        auth.set_cookie(response, signed, secure=self.console.secure)
        return response

    # --- the session --------------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.StreamResponse:
        member, signed = _member(request), request[SIGNED]
        return web.json_response(
            {
                "id": member.id,
                "name": member.name,
                "role": member.role,
                "languages": [c for c in member.languages.split(",") if c],
                "csrf": signed.csrf,
                "idle_seconds": int(self.console.store.idle),
            }
        )

    async def signout(self, request: web.Request) -> web.StreamResponse:
        self.console.store.end(request[SIGNED].id)
        response = web.json_response({"signed_out": True})
        auth.clear_cookie(response, secure=self.console.secure)
        return response

    async def _queue(self, member: Staff) -> dict[str, Any]:
        async with self.core.sessions() as session:
            return await queue.queue_for(
                session, member, self.core.content.catalogs, self.core.settings.office_hours, self.core.clock()
            )

    async def queue(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(await self._queue(_member(request)))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The queue and the case lengths, live, until the session ends or the page goes away."""
        signed, member = request[SIGNED], _member(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
        await self.console.prepare(request, response)

        async def read() -> tuple[dict[str, Any], dict[str, int]]:
            async with self.core.sessions() as session:
                waiting = await queue.queue_for(
                    session, member, self.core.content.catalogs, self.core.settings.office_hours, self.core.clock()
                )
                return waiting, await queue.lengths(session, member)

        async def alive() -> bool:
            if self.console.closing.is_set() or self.console.store.get(signed.id, touch=False) is None:
                return False
            async with self.core.sessions() as session:
                current = await session.get(Staff, member.id)
                if current is None or current.removed_at is not None:
                    self.console.store.end_all(member.id)
                    return False
            return True

        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            async for chunk in queue.changes(read, alive, interval=self.console.live_interval):
                await response.write(chunk)
        return response

    # --- cases --------------------------------------------------------------------------------

    async def bundle(self, request: web.Request) -> web.StreamResponse:
        return await self._run(request, self.console.work.bundle(request.query.get("key", "")))

    def case(self, pick: Callable[[Any], Operation]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._run(request, pick(self.console.work))

        return handler

    def with_body(self, pick: Callable[[Any, dict[str, Any]], Operation]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            body = await _body(request)
            return await self._run(request, pick(self.console.work, body))

        return handler

    async def _run(self, request: web.Request, operation: Operation) -> web.StreamResponse:
        try:
            done: Done = await self.console.work.run(_member(request).id, request.match_info["case"], operation)
        except Denied as exc:
            if exc.status == 401:
                self.console.store.end_all(_member(request).id)
            raise failure(exc.status, exc.reason) from exc
        for conversation_id in done.touched:
            self.console.deliver(conversation_id)
        return web.json_response(done.body)


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise failure(400, "Choose a colleague.")


def _export(value: object) -> str:
    if value not in ("md", "json"):
        raise failure(400, "The request was not understood.")
    return f"exported as {'Markdown' if value == 'md' else 'JSON'} in the console"
