"""The caseworkers' console: a web workplace under /console/ where staff sign in with a passkey, see
the queue live, claim, read and answer cases. Transcripts are opened in the browser only, with the
caseworker's own key: the server sends sealed entries and never holds what opens them.

`Console` is what the composition mounts (`app()` at "/console/"); its parts, one idea each:
`bot.console.auth` (sessions, CSRF, attempts), `bot.console.passkeys` (WebAuthn), `bot.console.invites`
(one-time enrolment links), `bot.console.api` (the JSON API), `bot.console.work` (what a staff member
does to a case, through `bot.handoff`), `bot.console.queue` (the queue and its live stream),
`bot.console.pages` (HTML and texts).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from bot.app.settings import PROJECT_ROOT
from bot.console import auth, invites
from bot.console.api import Api, make_guard
from bot.console.pages import STATIC, Pages
from bot.console.passkeys import Passkeys
from bot.console.work import CaseWork
from bot.outbox.delivery import Outbox
from bot.web.server import Handler, policy

if TYPE_CHECKING:
    from bot.app.compose import Core

log = logging.getLogger("accueil.console")

CONSOLE_CSP = policy("'none'")
SOURCES = PROJECT_ROOT / "web" / "src"


def frame_never(response: web.StreamResponse) -> None:
    """The console is never shown in a frame, whatever the operator allows the web chat."""
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["X-Frame-Options"] = "DENY"


@web.middleware
async def never_framed(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        frame_never(exc)
        raise
    if not response.prepared:
        frame_never(response)
    return response


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Console:
    def __init__(self, core: Core, outbox: Outbox) -> None:
        self.core = core
        self.outbox = outbox
        web_settings = core.settings.web
        parts = urlsplit(web_settings.public_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.secure = web_settings.secure
        self.store = auth.SessionStore()
        self.attempts = auth.Attempts()
        host = parts.hostname or "localhost"
        if _is_address(host):
            log.warning(
                "passkeys need a host name, not an address: staff cannot enrol at %s; to try the console on "
                "this machine set ACCUEIL_WEB_PUBLIC_URL=http://localhost:%s and open that address",
                web_settings.public_url,
                parts.port or 80,
            )
        self.passkeys = Passkeys(core.sessions, host, self.origin)
        self.work = CaseWork(core.sessions, core.handoff, core.clock, core.keys, core.content.intake)
        self.pages = Pages(core.settings.locales_dir, SOURCES)
        self.closing = asyncio.Event()
        #: How often the live stream reads the database, in seconds.
        self.live_interval = 1.0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[never_framed, make_guard(self)])
        Api(self).routes(app)
        app.router.add_get("/", self.home)
        app.router.add_get("/enrol/{token}", self.enrol_page)
        if (STATIC / "dist").is_dir():
            app.router.add_static("/static/dist/", STATIC / "dist")
        app.router.add_get("/static/console.css", self.stylesheet)
        if SOURCES.is_dir():
            app.router.add_static("/static/src/", SOURCES)
        return app

    # --- pages ------------------------------------------------------------------------------------

    def _page(self, request: web.Request, name: str, status: int = 200, **values: str) -> web.Response:
        language = self.pages.language(request.headers.get("Accept-Language", ""))
        body = self.pages.render(name, language, **values)
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    async def home(self, request: web.Request) -> web.StreamResponse:
        """The console when signed in, else the sign-in page."""
        signed = self.store.get(request.cookies.get(auth.COOKIE))
        return self._page(request, "console" if signed is not None else "signin")

    async def enrol_page(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        async with self.core.sessions() as session:
            member = await invites.pending(session, token, self.core.clock())
        if member is None:
            return self._page(request, "gone", status=410)
        return self._page(request, "enrol", token=token)

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "console.css", headers={"Content-Type": "text/css; charset=utf-8"})

    async def prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """A streamed answer (the live queue) gets the same headers as any other before it starts."""
        frame_never(response)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        await response.prepare(request)

    # --- delivery and housekeeping ------------------------------------------------------------------

    def deliver(self, conversation_id: int) -> None:
        """Send what a console action queued (to the person, to colleagues), without holding the answer."""
        self.outbox.flush_soon(conversation_id)

    def housekeeping(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._sweep(stop))]

    async def _sweep(self, stop: asyncio.Event) -> None:
        """Forget idle sessions, old attempts and stale challenges once a minute."""
        while not stop.is_set():
            self.store.sweep()
            self.attempts.sweep()
            self.passkeys.challenges.sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=60)
        self.closing.set()

    async def close(self) -> None:
        self.closing.set()
        await self.outbox.drain(5.0)


__all__ = ["Console"]
