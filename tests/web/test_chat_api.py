"""The web chat's API as a page calls it, and as an attacker would: over real HTTP, on real SQLite."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import admin
from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.translation.port import Route, Translation
from storage.models import Conversation, ParkedUpdate, TranscriptEntry
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


async def test_a_person_who_chooses_russian_gets_the_page_in_russian(core: Core) -> None:
    async with web_chat(core) as (base, _), ChatClient(base) as page:
        await page.start()
        await page.press(page.button(await page.question(), "Русский"))
        changed = await page.wait_for(lambda e: e["type"] == "language")
        assert (changed["lang"], changed["dir"]) == ("ru", "ltr")
        assert changed["words"]["send"] == "Отправить" and "код" in changed["words"]["keep_code"]


async def _entries(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TranscriptEntry)) or 0)


async def test_accueil_block_works_for_a_web_case(core: Core) -> None:
    async with web_chat(core) as (base, chat), ChatClient(base, forwarded_for="192.0.2.44") as page:
        await page.start()
        await page.press(page.button(await page.question(), "English"))
        asked = await page.question()
        async with core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalars().one().public_id
        said = await admin.block_case(core.sessions, case, datetime.now(UTC))
        assert said.startswith(f"the person who wrote in case {case} is blocked")
        before = await _entries(core), len(page.events)

        assert (await page.send("blocked canary"))[0] == 200
        assert (await page.press(page.button(asked, "No")))[0] == 200
        await asyncio.sleep(0.3)
        await page.poll(wait=0)
        assert (await _entries(core), len(page.events)) == before

        await chat.refresh_blocked()  # the running chat learns it (every 30 s on its own)
        async with ChatClient(base, forwarded_for="192.0.2.44") as again:
            await again.start()  # a fresh page from the same address: acknowledged, ignored
            assert (await again.send("hello"))[0] == 200
            await asyncio.sleep(0.3)
            assert again.events == [] and (await again.poll(wait=0))[1] == []
        async with ChatClient(base, forwarded_for="192.0.2.45") as other:
            await other.start()
            await other.question()  # someone else is not affected
        async with core.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Conversation))
        assert count == 2

        assert "unblocked" in await admin.unblock_case(core.sessions, case)
        await chat.refresh_blocked()
        async with ChatClient(base, forwarded_for="192.0.2.44") as freed:
            await freed.start()
            await freed.question()  # the address is free again


async def test_events_stream_live_and_the_page_is_light(core: Core) -> None:
    async with web_chat(core) as (base, _), ChatClient(base) as page:
        size = 0
        for path in ("", "static/chat.js", "static/chat.css", "static/icon.svg"):
            async with page.http.get(page.base + path) as response:
                assert response.status == 200
                assert response.headers["Cache-Control"] == "no-store"
                assert "script-src 'self'" in response.headers["Content-Security-Policy"]
                size += len(await response.read())
        assert size < 100_000
        await page.start()
        async with page.http.get(page.base + "api/events", params={"after": "0"}) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert stream.headers["Cache-Control"] == "no-store"
            assert "default-src 'none'" in stream.headers["Content-Security-Policy"]
            seen = b""
            while b'"type": "message"' not in seen:
                seen += await asyncio.wait_for(stream.content.readany(), timeout=5)
        assert b"event: ready" in seen and b'"type": "message"' in seen


async def test_accueil_cases_list_names_the_channel(core: Core) -> None:
    async with web_chat(core) as (base, _), ChatClient(base) as page:
        await page.start()
        await page.question()
    listing = await admin.cases_list(core.sessions)
    header, row = listing.splitlines()
    assert "channel" in header.split() and " web " in row


KEPT_EN = "Sorry, something went wrong on our side. Your message has been saved."


class BrokenTranslator:
    """A translator with a bug: it raises, quoting the text (as exceptions do)."""

    def route(self, source: str, target: str) -> Route | None:
        return Route(((source, target),))

    async def translate(self, text: str, source: str, target: str) -> Translation:
        raise RuntimeError(f"unexpected: {text}")


async def test_a_message_that_cannot_be_handled_is_kept_and_the_page_is_told(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-web-fault-51d0"
    async with web_chat(core) as (base, _), ChatClient(base) as page:
        await page.start()
        await page.press(page.button(await page.question(), "English"))
        await page.question()
        core.service.translator = BrokenTranslator()
        status, _ = await page.send(f"{canary} they took my passport")
        assert status == 200
        await page.wait_for(lambda e: e["type"] == "message" and e["text"].startswith(KEPT_EN))
    async with core.sessions() as session:
        [parked] = (await session.execute(select(ParkedUpdate))).scalars().all()
    assert canary.encode() not in parked.payload_sealed
    assert canary not in "\n".join(record.getMessage() for record in caplog.records)


async def test_the_operator_sets_the_pages_title_and_icon(settings: Settings, tmp_path: Path) -> None:
    icon = tmp_path / "leaf.png"
    icon.write_bytes(b"\x89PNG\r\n\x1a\n" + b"operator-icon" * 10)
    own = replace(settings, web=replace(settings.web, title="Météo locale", icon=icon))
    built = await build_core(own)
    try:
        async with web_chat(built) as (base, _), aiohttp.ClientSession() as http:
            async with http.get(base + "/chat/") as response:
                page = await response.text()
            assert "<title>Météo locale</title>" in page
            assert 'href="static/icon.png" type="image/png"' in page and "icon.svg" not in page
            async with http.get(base + "/chat/static/icon.png") as response:
                assert response.status == 200 and response.content_type == "image/png"
                assert await response.read() == icon.read_bytes()
    finally:
        await built.close()
