"""The web chat in tests: `WebChat` served by the real hardened server, and a client that speaks its API.

`web_chat(core)` serves "/chat/" on a free loopback port; with no outbox given it
builds one whose staff side refuses (`RetryLater`) and runs its retry loop. A
running Telegram bot's outbox (`testkit.telegram.RunningBot.outbox`) can be given
instead: caseworkers then answer on the fake Bot API. `ChatClient` is a page
without a browser: it solves the proof of work, keeps the cookie and the CSRF
token, and polls for events.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web

from bot.app.compose import Core
from bot.channels.web import WebChat
from bot.channels.web.proof import solve
from bot.outbox.delivery import Outbox, StaffUnreachable
from testkit.web import serving

Event = dict[str, Any]


@contextlib.asynccontextmanager
async def web_chat(
    core: Core,
    outbox: Outbox | None = None,
    *,
    parts: dict[str, web.Application] | None = None,
    proof_bits: int = 4,
) -> AsyncIterator[tuple[str, WebChat]]:
    """Yields (base URL, the WebChat); the chat's page is at base + "/chat/"."""
    own = outbox is None
    used = outbox if outbox is not None else core.outbox(StaffUnreachable(after=60.0))
    chat = WebChat(core, used, proof_bits=proof_bits)
    stop = asyncio.Event()
    tasks = chat.housekeeping(stop)
    if own:
        tasks.append(asyncio.create_task(used.run(stop, interval=0.2)))
    try:
        async with serving({"/chat/": chat.app(), **(parts or {})}) as base:
            try:
                yield base, chat
            finally:
                await chat.close()
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


class ChatClient:
    """A person's page, without the page: the API as the page calls it."""

    def __init__(self, base: str, *, forwarded_for: str | None = None) -> None:
        self.base = base + "/chat/"
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        self.after = 0
        self.events: list[Event] = []
        self.taken = 0
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def start(self) -> Event:
        async with self.http.get(self.base + "api/challenge") as response:
            challenge = await response.json()
        answer = solve(challenge["challenge"], challenge["bits"])
        status, body = await self.post("api/session", {"challenge": challenge["challenge"], "answer": answer})
        assert status == 200, body
        self.csrf = body["csrf"]
        return body

    async def post(self, path: str, data: Any, *, csrf: str | None = None, **headers: str) -> tuple[int, Event]:
        sent = {"X-CSRF-Token": self.csrf if csrf is None else csrf, **self.headers, **headers}
        async with self.http.post(self.base + path, json=data, headers=sent) as response:
            return response.status, await response.json()

    async def send(self, text: str) -> tuple[int, Event]:
        return await self.post("api/send", {"text": text})

    async def press(self, data: str) -> tuple[int, Event]:
        return await self.post("api/send", {"press": data})

    async def poll(self, wait: int = 25) -> tuple[int, list[Event]]:
        params = {"after": str(self.after), "wait": str(wait)}
        async with self.http.get(self.base + "api/poll", params=params) as response:
            body = await response.json()
            if response.status != 200:
                return response.status, []
        found: list[Event] = body["events"]
        for event in found:
            self.after = max(self.after, event["seq"])
        self.events.extend(found)
        return 200, found

    async def wait_for(self, wanted: Callable[[Event], bool], timeout: float = 10.0) -> Event:  # noqa: ASYNC109
        """The first event (seen already or to come) that `wanted` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if wanted(event):
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"no such event within {timeout} s; seen: {self.events}")
            await asyncio.wait_for(self.poll(), timeout=max(0.1, deadline - time.monotonic()) + 1)

    async def question(self, needle: str = "", timeout: float = 10.0) -> Event:  # noqa: ASYNC109
        """The next question (a message with buttons, whose text holds `needle`) after the last one taken."""

        def fresh(event: Event) -> bool:
            return (
                event["type"] == "message"
                and bool(event["buttons"])
                and needle in event["text"]
                and event["seq"] > self.taken
            )

        event = await self.wait_for(fresh, timeout)
        self.taken = event["seq"]
        return event

    @staticmethod
    def button(question: Event, label: str) -> str:
        for row in question["buttons"]:
            for shown, data in row:
                if shown == label or shown.endswith(label):
                    return str(data)
        raise AssertionError(f"no button {label!r} in {question['buttons']}")


def neutral_site() -> web.Application:
    """The operator's neutral exit page, on the same loopback server (tests reach no other host)."""
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>Weather</title><p>Sunny.</p>", content_type="text/html")

    app.router.add_get("/", page)
    return app
