"""The web chat over HTTP: the page, its three files, and a small JSON API.

    GET  /chat/                the page          GET  /chat/api/challenge   a proof-of-work challenge
    GET  /chat/static/NAME     its files         POST /chat/api/session     start (the solved challenge)
    GET  /chat/api/events      live updates (server-sent events)
    GET  /chat/api/poll        the same, by long polling (behind proxies that hold event streams back;
                               `after`: the last event seen, `wait`: seconds to wait at most, 25 by default)
    POST /chat/api/send        a text or a button     POST /chat/api/resume   a resume code
    POST /chat/api/exit        the quick exit

Every POST carries the session's CSRF token in `X-CSRF-Token` (the start, which has
no session yet, carries a solved challenge instead) and comes from the page's own
origin. Every refusal is a JSON `{"error": sentence}` with its status.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bot import engine
from bot.app.web_settings import ICON_KINDS
from bot.channels.base import parse_button
from bot.channels.web.addresses import client_address
from bot.channels.web.refusal import Refusal
from bot.channels.web.sessions import WebSession
from bot.errors import StorageError
from bot.web.server import policy

if TYPE_CHECKING:
    from bot.channels.web import WebChat

STATIC = Path(__file__).with_name("static")
FILES = {"chat.js": "text/javascript", "chat.css": "text/css", "icon.svg": "image/svg+xml"}
COOKIE = "chat"
#: As on Telegram: a message of at most 4096 characters.
MAX_TEXT = 4096
POLL_WAIT = 25.0
KEEPALIVE = 15.0
ENDED = "This chat has ended. Reload the page to start again."

_CHAT: web.AppKey[WebChat] = web.AppKey("chat")


_REFUSALS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    415: web.HTTPUnsupportedMediaType,
    429: web.HTTPTooManyRequests,
    503: web.HTTPServiceUnavailable,
}


def refuse(status: int, message: str) -> web.HTTPException:
    """A refusal the page can show: `{"error": message}` with `status`."""
    body = json.dumps({"error": message})
    if status == 413:
        return web.HTTPRequestEntityTooLarge(MAX_TEXT, MAX_TEXT + 1, text=body, content_type="application/json")
    return _REFUSALS.get(status, web.HTTPBadRequest)(text=body, content_type="application/json")


def make_app(chat: WebChat) -> web.Application:
    """The chat's routes; none at all when the operator turned the chat off (ACCUEIL_WEB_CHAT=off)."""
    app = web.Application()
    app[_CHAT] = chat
    if not chat.settings.chat:
        return app
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    first = chat.page_words(None)
    filled = (
        page.replace("{title}", html.escape(chat.settings.title))
        .replace("{exit_url}", html.escape(chat.settings.exit_url))
        .replace("{exit}", html.escape(first["words"]["exit"]))
        .replace("{lang}", html.escape(first["lang"]))
    )
    files = {name: (STATIC / name).read_bytes() for name in FILES}
    kinds = dict(FILES)
    icon = chat.settings.icon
    if icon is not None:  # the operator's own icon, read once at start
        name = "icon" + icon.suffix.lower()
        files[name], kinds[name] = icon.read_bytes(), ICON_KINDS[icon.suffix.lower()]
        neutral = 'href="static/icon.svg" type="image/svg+xml"'
        filled = filled.replace(neutral, f'href="static/{name}" type="{kinds[name]}"')

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=filled, content_type="text/html", charset="utf-8")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise refuse(404, "No such file.")
        return web.Response(body=files[name], content_type=kinds[name])

    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/challenge", challenge)
    app.router.add_post("/api/session", start)
    app.router.add_get("/api/events", events)
    app.router.add_get("/api/poll", poll)
    app.router.add_post("/api/send", send)
    app.router.add_post("/api/resume", resume_code)
    app.router.add_post("/api/exit", quick_exit)
    known = {resource.canonical for resource in app.router.resources()}

    async def elsewhere(request: web.Request) -> web.Response:
        if request.path.removeprefix("/chat") in known:
            body = json.dumps({"error": f"{request.method} is not how this address is used."})
            raise web.HTTPMethodNotAllowed(request.method, [], text=body, content_type="application/json")
        raise refuse(404, "Nothing here.")

    app.router.add_route("*", "/{tail:.*}", elsewhere)
    return app


# --- checks every request goes through --------------------------------------------------------------


def _chat(request: web.Request) -> WebChat:
    return request.config_dict[_CHAT]


def _same_origin(request: web.Request) -> None:
    """A POST from the page itself: never from another site's page or form."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise refuse(403, "This request must come from the chat page itself.")
    origin = request.headers.get("Origin")
    if origin is None:
        return
    public = urlsplit(_chat(request).settings.public_url)
    allowed = {f"{request.scheme}://{request.host}", f"{public.scheme}://{public.netloc}"}
    if origin not in allowed:
        raise refuse(403, "This request must come from the chat page itself.")


def _session(request: web.Request) -> WebSession:
    session = _chat(request).sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise refuse(401, ENDED)
    return session


def _posted(request: web.Request) -> WebSession:
    _same_origin(request)
    session = _session(request)
    if not session.csrf_ok(request.headers.get("X-CSRF-Token")):
        raise refuse(403, "This request lacks the page's security token. Reload the page.")
    return session


async def _body(request: web.Request, fields: dict[str, type]) -> dict[str, Any]:
    """A JSON object with exactly some of `fields`, each of its type."""
    if request.content_type != "application/json":
        raise refuse(415, "Send JSON (Content-Type: application/json).")
    try:
        data = json.loads(await request.text())
    except web.HTTPRequestEntityTooLarge as exc:
        raise refuse(413, "The request is too large.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(400, "The request is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise refuse(400, "The request must be a JSON object.")
    unknown = set(data) - set(fields)
    if unknown:
        raise refuse(400, f"Unknown field(s): {', '.join(sorted(unknown))[:100]}.")
    for name, value in data.items():
        if not isinstance(value, fields[name]):
            raise refuse(400, f"The field {name!r} must be {'text' if fields[name] is str else 'a number'}.")
    return data


def _address(request: web.Request) -> str:
    trusted = _chat(request).settings.trusted_proxies
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)


async def _run(work: Any) -> None:
    try:
        await work
    except Refusal as exc:
        raise refuse(exc.status, exc.message) from exc
    except StorageError as exc:
        raise refuse(503, "The service is busy. Please try again in a moment.") from exc


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


# --- the handlers -------------------------------------------------------------------------------


async def challenge(request: web.Request) -> web.Response:
    proof = _chat(request).proof
    return web.json_response({"challenge": proof.challenge(), "bits": proof.bits})


async def start(request: web.Request) -> web.Response:
    _same_origin(request)
    chat = _chat(request)
    data = await _body(request, {"challenge": str, "answer": str})
    wrong = chat.proof.check(data.get("challenge", ""), data.get("answer", ""))
    if wrong is not None:
        raise refuse(400, wrong)
    hint = (request.headers.get("Accept-Language") or "").split(",")[0].split("-")[0].strip().lower()[:8] or None
    found: list[WebSession] = []

    async def begin() -> None:
        found.append(await chat.start(_address(request), request.cookies.get(COOKIE), hint))

    await _run(begin())
    session = found[0]
    response = web.json_response({"csrf": session.csrf, **chat.page_words(session.language)})
    response.set_cookie(
        COOKIE, session.id, path="/chat/", httponly=True, samesite="Strict", secure=chat.settings.secure
    )
    return response


async def send(request: web.Request) -> web.Response:
    session = _posted(request)
    data = await _body(request, {"text": str, "press": str})
    if len(data) != 1:
        raise refuse(400, "Send either a text or a button press.")
    event: engine.Event | None
    if "press" in data:
        event = parse_button(data["press"])
        if event is None:
            raise refuse(400, "This button is not one of the chat's.")
    else:
        text = data["text"].strip()
        if not text:
            raise refuse(400, "The message is empty.")
        if len(text) > MAX_TEXT:
            raise refuse(413, f"The message is too long: at most {MAX_TEXT} characters.")
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise refuse(400, "The message holds characters that cannot be shown.")
        event = engine.TextIn(text)
    await _run(_chat(request).say(session, event))
    return _ok()


async def resume_code(request: web.Request) -> web.Response:
    session = _posted(request)
    data = await _body(request, {"code": str})
    await _run(_chat(request).resume(session, str(data.get("code", ""))[:32]))
    return _ok()


async def quick_exit(request: web.Request) -> web.Response:
    session = _posted(request)
    await _run(_chat(request).quick_exit(session))
    response = _ok()
    response.del_cookie(COOKIE, path="/chat/")
    return response


async def poll(request: web.Request) -> web.Response:
    session = _session(request)
    chat = _chat(request)
    after = _after(request)
    session.acked = max(session.acked, after)  # the page has everything up to what it asks after
    chat.back(session)
    waiting = session.changed
    found = session.after(after)
    wait = request.query.get("wait", "")
    if not found:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.wait(), timeout=min(POLL_WAIT, int(wait)) if wait.isdigit() else POLL_WAIT)
        found = session.after(after)
    session.seen = chat.sessions.monotonic()
    if chat.sessions.get(session.id) is None:
        raise refuse(401, ENDED)
    return web.json_response({"events": found})


async def events(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    chat = _chat(request)
    after = _after(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
            "Content-Security-Policy": policy(chat.settings.frame_ancestors),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    session.listeners += 1
    chat.back(session)
    try:
        await response.write(b"event: ready\ndata: {}\n\n")
        while chat.sessions.get(session.id) is session:
            waiting = session.changed
            for event in session.after(after):
                after = event["seq"]
                await response.write(f"id: {after}\ndata: {json.dumps(event)}\n\n".encode())
                session.acked = after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiting.wait(), timeout=KEEPALIVE)
            if not session.after(after):
                await response.write(b": still here\n\n")
    except (ConnectionResetError, RuntimeError):
        pass  # the page went away
    finally:
        session.listeners -= 1
        session.seen = chat.sessions.monotonic()
    return response


def _after(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    if not raw.isdigit() or len(raw) > 12:
        raise refuse(400, "'after' must be a whole number.")
    return int(raw)
