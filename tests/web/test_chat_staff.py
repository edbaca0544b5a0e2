"""A web case on the staff side, without a browser: announced with its channel, claimed and answered
from Telegram (the page has the answer within 2 seconds), and a quick exit told to the caseworker."""

from __future__ import annotations

import asyncio
import time

from bot.app.settings import Settings
from testkit.staffed import MARIE, staffed_bot
from testkit.webchat import ChatClient, web_chat


async def test_a_web_case_is_announced_claimed_answered_and_left(settings: Settings) -> None:
    async with staffed_bot(settings) as team, web_chat(team.running.core, team.running.outbox) as (base, chat):
        async with ChatClient(base) as page:
            await page.start()
            await page.press(page.button(await page.question(), "العربية"))
            await page.press(page.button(await page.question(), team.render("ar", "common.human")))
            offered = await page.wait_for(lambda e: e["type"] == "resume")
            assert len(offered["code"]) == 9

            notice = await team.notice()
            assert "Canal : chat web" in (notice.text or "")
            case = (await team.conversation()).public_id
            await team.claim(MARIE, case, notice)
            await page.send("مرحبا")
            relayed = await team.said_to(MARIE, "مرحبا")
            assert "[ar>en]" in (relayed.text or "")  # translated for the caseworker, the original beside it

            team.api.user_sends_text(MARIE, "Bonjour")
            sent = time.monotonic()
            reply = await page.wait_for(lambda e: e["type"] == "message" and "Bonjour" in e["text"], timeout=2.0)
            assert time.monotonic() - sent < 2.0 and "[en>ar]" in reply["text"]

            # The page is away a moment (its connection dropped): the next reply waits in the outbox, and
            # comes as soon as the page asks again.
            chat.sessions.away = 0.2
            await asyncio.sleep(0.4)
            team.api.user_sends_text(MARIE, "Toujours là ?")
            for _ in range(100):
                if any(s.missed for s in chat.sessions):
                    break
                await asyncio.sleep(0.05)
            assert any(s.missed for s in chat.sessions)
            assert not [e for e in page.events if "Toujours" in e.get("text", "")]
            await page.wait_for(lambda e: "Toujours" in e.get("text", ""), timeout=2.0)

            status, _ = await page.post("api/exit", {})
            assert status == 200
            await team.said_to(MARIE, "sortie rapide")
        conversation = await team.conversation(case)
        assert conversation.quick_exit is True and conversation.case_status is not None
