"""Debian's Chromium, driven by Playwright for Python, for the tests of the web pages.

The browser is the one at /usr/bin/chromium (`apt-get install -y chromium chromium-driver`;
`.ci/run` installs it when missing). Playwright never downloads a browser here: without
Chromium, or without the `playwright` package, the browser tests skip with one line.

`Recorder` keeps every request a page makes (with its body) and every response it gets, so a
test can show that nothing left the page's own origin and that no secret crossed the wire.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Request, Response

CHROMIUM = Path("/usr/bin/chromium")
#: As on this kind of machine: headless, no sandbox (root in CI), and no call to Google's services.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SKIP_REASON = (
    "browser tests need Debian's Chromium at /usr/bin/chromium "
    "(`apt-get install -y chromium chromium-driver`; `.ci/run` installs it)"
)


def screenshot(name: str, elsewhere: Path) -> Path:
    """Where a test saves the picture `name`: docs/ under `make screenshots` (ACCUEIL_SCREENSHOTS=docs),
    else `elsewhere` (the test's own folder), so a test run leaves the tree as it was."""
    if os.environ.get("ACCUEIL_SCREENSHOTS") == "docs":
        return Path(__file__).resolve().parents[1] / "docs" / name
    return elsewhere / name


def _executable() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    return SKIP_REASON if _executable() is None else None


#: Marks a test (or a module, as `pytestmark`) that needs the browser.
needs_chromium = pytest.mark.skipif(missing() is not None, reason=missing() or "")



@dataclass
class Seen:
    """One request the page made, and what came back."""

    method: str
    url: str
    body: bytes
    status: int | None = None
    response: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorder:
    """Every request of a browser context, in order (bodies included)."""

    seen: list[Seen] = field(default_factory=list)
    _by_request: dict[int, Seen] = field(default_factory=dict)

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._request)
        context.on("response", self._response)

    def _request(self, request: Request) -> None:
        body = request.post_data_buffer or b""
        seen = Seen(request.method, request.url, body)
        self.seen.append(seen)
        self._by_request[id(request)] = seen

    async def _response(self, response: Response) -> None:
        seen = self._by_request.get(id(response.request))
        if seen is None:
            return
        seen.status = response.status
        seen.headers = await response.all_headers()
        with contextlib.suppress(Exception):  # a redirect or an aborted stream has no body
            seen.response = await response.body()

    def origins(self) -> set[str]:
        """Every origin the page talked to (data: and blob: URLs are not requests to anyone)."""
        out = set()
        for seen in self.seen:
            parts = urlsplit(seen.url)
            if parts.scheme in ("data", "blob"):
                continue
            out.add(f"{parts.scheme}://{parts.netloc}")
        return out

    def sent(self) -> bytes:
        """Everything the page sent: URLs and bodies, joined."""
        return b"\n".join(s.url.encode() + b"\n" + s.body for s in self.seen)

    def received(self) -> bytes:
        return b"\n".join(s.response for s in self.seen)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, with the flags this machine needs; closed on the way out."""
    path = _executable()
    if path is None:
        pytest.skip(SKIP_REASON)
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(path), args=list(FLAGS), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def page_in(
    browser: Browser, *, viewport: tuple[int, int] = (1280, 800), **options: Any
) -> AsyncIterator[tuple[Page, Recorder]]:
    """A fresh context (no cookies, no storage) and a page in it, with every request recorded."""
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **options)
    recorder = Recorder()
    recorder.attach(context)
    try:
        yield await context.new_page(), recorder
    finally:
        await context.close()
