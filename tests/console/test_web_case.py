"""A web chat case worked from the console: the person in the page, the caseworker in the console,
translated both ways; the console shows the case's channel."""

from __future__ import annotations

import aiohttp

from bot.app.settings import Settings
from testkit.staffed import MARIE, MARIE_ID
from testkit.webchat import ChatClient, web_chat
from tests.console.conftest import serving_console
from tests.console.test_api import call


async def test_a_web_case_is_claimed_and_answered_from_the_console(settings: Settings) -> None:
    async with (
        serving_console(settings) as served,
        web_chat(served.team.running.core, served.team.running.outbox) as (chat_base, _),
        ChatClient(chat_base) as page,
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
    ):
        team = served.team
        await page.start()
        await page.press(page.button(await page.question(), "العربية"))
        await page.press(page.button(await page.question(), team.render("ar", "common.human")))
        await team.notice()
        case = (await team.conversation()).public_id
        marie = served.headers(served.signed_in(MARIE_ID))

        status, queue = await call(http, served, "GET", "/console/api/queue", None, marie)
        assert status == 200
        listed = [row for row in queue["waiting"] if row["case"] == case]
        assert listed and listed[0]["channel"] == "web"

        status, _ = await call(http, served, "POST", f"/console/api/cases/{case}/claim", None, marie)
        assert status == 200
        await page.send("مرحبا")
        relayed = await team.said_to(MARIE, "مرحبا")
        assert "[ar>en]" in (relayed.text or "")  # to Marie's Telegram chat too, translated

        status, sent = await call(http, served, "POST", f"/console/api/cases/{case}/reply", {"text": "Bonjour"}, marie)
        assert status == 200 and sent["sent"].startswith("[en>ar] [fr>en] Bonjour")
        reply = await page.wait_for(lambda e: e["type"] == "message" and "Bonjour" in e.get("text", ""), timeout=2.0)
        assert reply["text"] == sent["sent"]
        assert team.render("ar", "handoff.machine_translated") in reply["text"]
