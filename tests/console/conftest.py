"""The console against the real bot: a staffed team on the fake Bot API, the console served by the real
hardened web server on a free loopback port, at the public URL its passkeys are bound to."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.app.settings import Settings
from bot.console import Console, auth
from bot.web.server import WebOptions, WebServer
from testkit.staffed import Team, staffed_bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    team: Team
    console: Console
    #: The address the browser uses (http://localhost:PORT): the passkeys' relying party is "localhost".
    base: str

    def signed_in(self, staff_id: int) -> auth.Signed:
        """A session as a passkey sign-in opens it (the ceremony itself is tested in the browser)."""
        return self.console.store.open(staff_id)

    def headers(self, signed: auth.Signed | None, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Origin": self.base}
        if signed is not None:
            headers["Cookie"] = f"{auth.COOKIE}={signed.id}"
            if csrf:
                headers[auth.CSRF_HEADER] = signed.csrf
        return headers


@contextlib.asynccontextmanager
async def serving_console(settings: Settings, *, frame_ancestors: str = "'none'") -> AsyncIterator[Served]:
    port = free_port()
    base = f"http://localhost:{port}"
    async with staffed_bot(settings, ACCUEIL_WEB_PUBLIC_URL=base) as team:
        console = Console(team.running.core, team.running.outbox)
        console.live_interval = 0.2
        server = WebServer(
            WebOptions(host="127.0.0.1", port=port, frame_ancestors=frame_ancestors), {"/console/": console.app()}
        )
        await server.start()
        try:
            yield Served(team, console, base)
        finally:
            await console.close()
            await server.close()


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[Served]:
    async with serving_console(settings) as found:
        yield found


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        yield client
