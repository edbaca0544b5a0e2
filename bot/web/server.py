"""The web server: security headers on every response, a clear answer for every failure.

Each part of the web side (the console, the web chat) is an aiohttp sub-application
mounted under its own prefix. Every response leaves here with the same strict headers:
a Content-Security-Policy that allows the page's own origin only (no inline script, no
`eval`), no referrer, no sniffing, no framing unless the operator allows it, and
`Cache-Control: no-store` unless a static file says otherwise. A handler that fails
answers with a short message and an id the operator finds in the log; never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.errors import ConfigError

log = logging.getLogger("accueil.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Request bodies larger than this are refused before they are read (a text, a form, a WebAuthn answer).
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 8090
    #: Who may show the pages in a frame (CSP `frame-ancestors`): "'none'" unless the operator allows a site.
    frame_ancestors: str = "'none'"
    #: (A part that must never be framed, such as the console, sets its own `policy("'none'")`.)
    #: Behind an https proxy: cookies carry `Secure`.
    secure_cookies: bool = False


def policy(frame_ancestors: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "worker-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "manifest-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


def _headers(response: web.StreamResponse, csp: str, frames: bool) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp)
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    headers.setdefault("Cache-Control", "no-store")
    if not frames and "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
        headers["X-Frame-Options"] = "DENY"


def hardened(options: WebOptions) -> Middleware:
    csp = policy(options.frame_ancestors)
    frames = options.frame_ancestors != "'none'"

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400 and exc.text is None:
                exc.text = exc.reason
            _headers(exc, csp, frames)
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("web request failed", extra={"incident": incident, "path": request.path})
            response = web.json_response(
                {"error": f"Something went wrong on our side. Please try again. (reference {incident})"},
                status=500,
            )
        if not response.prepared:
            _headers(response, csp, frames)
        return response

    return middleware


def make_app(options: WebOptions, parts: dict[str, web.Application]) -> web.Application:
    """The root application: `parts` mounted under their prefixes ("/console/", "/chat/")."""
    app = web.Application(middlewares=[hardened(options)], client_max_size=MAX_BODY)
    for prefix, part in parts.items():
        app.add_subapp(prefix.rstrip("/"), part)

    async def root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPNotFound(text="Nothing here.")

    app.router.add_get("/", root)
    return app


class WebServer:
    """The aiohttp runner and site for `make_app`, started and stopped with the bot."""

    def __init__(self, options: WebOptions, parts: dict[str, web.Application]) -> None:
        self.options = options
        self.app = make_app(options, parts)
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Listen; returns the address it listens on (the port may have been 0: a free one)."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        try:
            await site.start()
        except OSError as exc:
            await self.close()
            raise ConfigError(
                f"the web side cannot listen on {self.options.host}:{self.options.port} ({exc.strerror}): "
                "set ACCUEIL_WEB_LISTEN to a free HOST:PORT, or to off"
            ) from exc
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
