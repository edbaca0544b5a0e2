"""Without `make web` (no Node.js), the console serves its page module from the sources, with its
Subresource Integrity hash computed by the server: staff enrol, sign in and see the queue, and the
page says that transcripts cannot be opened here."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest

from bot.app.settings import Settings
from bot.console import pages
from bot.console.pages import integrity
from testkit.browser import chromium, needs_chromium, page_in
from testkit.staffed import MARIE_ID
from tests.console.conftest import serving_console
from tests.console.test_console_browser import enrolment_link, virtual_authenticator

pytestmark = needs_chromium


async def test_without_a_build_sign_in_and_the_queue_work_and_the_page_says_why_no_transcript(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "DIST", tmp_path / "no-build")
    async with serving_console(settings) as served:
        async with aiohttp.ClientSession() as http, http.get(served.base + "/console/") as response:
            html = await response.text()
        found = re.search(r'<script type="module" src="([^"]+)" integrity="([^"]+)">', html)
        assert found is not None and found.group(1) == "/console/static/src/console/main.js"
        async with aiohttp.ClientSession() as http, http.get(served.base + found.group(1)) as response:
            assert integrity(await response.read()) == found.group(2)

        _, case, _ = await served.team.hand_off_in_arabic(7401)
        async with chromium() as browser, page_in(browser, locale="en-GB") as (page, recorder):
            await virtual_authenticator(page)
            await page.goto(await enrolment_link(served, MARIE_ID))
            await page.get_by_role("button", name="Register my passkey").click()
            await page.get_by_role("link", name="Open the console").click()
            await page.get_by_text("Signed in: Marie").wait_for()
            await page.locator(f"#waiting button[data-case='{case}']").wait_for()
            state = await page.locator("#key-state").inner_text()
            assert state.startswith("Decryption is not available on this server")
            assert await page.locator("#key-form").is_hidden()
        assert recorder.origins() == {served.base}
