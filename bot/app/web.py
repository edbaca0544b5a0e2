"""The web side in the composition: which parts are served, on which address, and what is said about it."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aiohttp import web as aioweb

from bot.app.compose import Core
from bot.app.settings import Settings
from bot.channels.web import WebChat
from bot.console import Console
from bot.outbox.delivery import Outbox
from bot.web.server import WebOptions, WebServer

log = logging.getLogger("accueil.web")


class WebPart(Protocol):
    """A part of the web side (the console, the web chat): its routes, its loops, its end."""

    def app(self) -> aioweb.Application: ...

    def housekeeping(self, stop: asyncio.Event) -> list[asyncio.Task[None]]: ...

    async def close(self) -> None: ...


def parts(core: Core, outbox: Outbox) -> dict[str, WebPart]:
    """The console always; the web chat unless ACCUEIL_WEB_CHAT=off. Both share the bot's outbox."""
    served: dict[str, WebPart] = {"/console/": Console(core, outbox)}
    if core.settings.web.chat:
        served["/chat/"] = WebChat(core, outbox)
    return served


def server(settings: Settings, served: dict[str, WebPart]) -> WebServer | None:
    if settings.web.listen is None or not served:
        return None
    host, port = settings.web.listen
    options = WebOptions(host=host, port=port, frame_ancestors=settings.web.frame_ancestors)
    return WebServer(options, {prefix: part.app() for prefix, part in served.items()})


def announce(settings: Settings, served: dict[str, WebPart]) -> None:
    """One line per part, with the address people use."""
    for prefix in served:
        what = "caseworkers' console" if prefix == "/console/" else "web chat"
        log.info("serving the %s at %s%s", what, settings.web.public_url, prefix)
