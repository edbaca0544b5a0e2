"""The web side in tests: the real hardened server (`bot.web.server`) on a free loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from bot.web.server import WebOptions, WebServer


@contextlib.asynccontextmanager
async def serving(parts: dict[str, web.Application], *, frame_ancestors: str = "'none'") -> AsyncIterator[str]:
    """Serve `parts` ({"/chat/": app, "/console/": app}) until the block ends; yields the base URL."""
    server = WebServer(WebOptions(host="127.0.0.1", port=0, frame_ancestors=frame_ancestors), parts)
    base = await server.start()
    try:
        yield base
    finally:
        await server.close()
