"""The web chat's API as a page calls it, and as an attacker would: over real HTTP, on real SQLite."""

from __future__ import annotations

from sqlalchemy import select

from bot.app.compose import Core
from storage.models import Conversation
from testkit.webchat import ChatClient, web_chat


async def test_a_session_starts_with_the_language_question(core: Core) -> None:
    async with web_chat(core) as (base, _), ChatClient(base) as page:
        started = await page.start()
        assert started["dir"] == "ltr" and started["csrf"]
        asked = await page.question()
        labels = [label for row in asked["buttons"] for label, _ in row]
        assert "English" in labels and "العربية" in labels
        await page.press(page.button(asked, "العربية"))
        changed = await page.wait_for(lambda e: e["type"] == "language")
        assert changed["lang"] == "ar" and changed["dir"] == "rtl"
        welcome = await page.question()
        assert welcome["text"]
    async with core.sessions() as session:
        conversation = (await session.execute(select(Conversation))).scalars().one()
    assert conversation.channel == "web" and conversation.language == "ar"
