"""What an attacker sends straight to the web chat's endpoints: every request gets a clear JSON answer,
never a traceback, and nothing gets through without the session, its token and the page's own origin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.app.compose import Core, build_core
from bot.app.settings import Settings, load_settings
from bot.channels.web.proof import solve
from bot.engine import Msg
from testkit.webchat import ChatClient, web_chat


def _limited(settings: Settings, **extra: str) -> Settings:
    return load_settings(
        {
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_OFFICE_HOURS": "always",
            **extra,
        }
    )


@pytest.fixture
async def page(core: Core) -> AsyncIterator[ChatClient]:
    async with web_chat(core) as (base, _), ChatClient(base) as client:
        await client.start()
        await client.question()
        yield client


async def _raw(client: ChatClient, path: str, body: bytes, **headers: str) -> tuple[int, dict[str, str]]:
    sent = {"X-CSRF-Token": client.csrf, "Content-Type": "application/json", **headers}
    async with client.http.post(client.base + path, data=body, headers=sent) as response:
        assert response.content_type == "application/json", await response.text()
        text = await response.text()
        assert "Traceback" not in text
        return response.status, json.loads(text)


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b'{"text": "hello"}', {"X-CSRF-Token": ""}, 403, "security token"),
        (b'{"text": "hello"}', {"X-CSRF-Token": "forged"}, 403, "security token"),
        (b'{"text": "hello"}', {"Origin": "https://evil.example"}, 403, "chat page itself"),
        (b'{"text": "hello"}', {"Sec-Fetch-Site": "cross-site"}, 403, "chat page itself"),
        (b"text=hello", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "Send JSON"),
        (b'{"text": "hello"', {}, 400, "not valid JSON"),
        (b"\xff\xfe", {}, 400, "not valid JSON"),
        (b'["hello"]', {}, 400, "JSON object"),
        (b'{"text": "hello", "admin": true}', {}, 400, "Unknown field"),
        (b'{"text": "a", "press": "1:en"}', {}, 400, "either a text or a button"),
        (b"{}", {}, 400, "either a text or a button"),
        (b'{"text": 42}', {}, 400, "must be text"),
        (b'{"text": "   "}', {}, 400, "empty"),
        (json.dumps({"text": "x" * 4097}).encode(), {}, 413, "at most 4096"),
        (json.dumps({"text": "a\u0000b"}).encode(), {}, 400, "cannot be shown"),
        (b'{"press": "not-a-button"}', {}, 400, "not one of the chat's"),
        (b'{"press": "1:' + b"x" * 80 + b'"}', {}, 400, "not one of the chat's"),
        (json.dumps({"text": "x" * 70_000}).encode(), {}, 413, "too large"),
    ],
)
async def test_a_bad_request_is_refused_with_a_clear_message(
    page: ChatClient, body: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    got, answer = await _raw(page, "api/send", body, **headers)
    assert got == status
    assert says in answer["error"]


async def test_the_longest_message_telegram_takes_is_taken(page: ChatClient) -> None:
    status, _ = await page.send("é" * 4096)
    assert status == 200


async def test_without_a_session_nothing_is_done(core: Core) -> None:
    async with web_chat(core) as (base, chat), ChatClient(base) as stranger:
        for path in ("api/send", "api/resume", "api/exit"):
            status, answer = await stranger.post(path, {"text": "hi"}, csrf="x")
            assert status == 401 and "ended" in answer["error"]
        async with stranger.http.get(stranger.base + "api/poll") as response:
            assert response.status == 401
        async with stranger.http.get(stranger.base + "api/events") as response:
            assert response.status == 401
        for path, status, says in (
            ("static/../__init__.py", 404, "Nothing here"),
            ("static/sessions.py", 404, "No such file"),
            ("api/nowhere", 404, "Nothing here"),
            ("api/send", 405, "GET is not how"),
        ):
            async with stranger.http.get(stranger.base + path) as response:
                assert response.status == status, path
                assert says in (await response.json())["error"]
        assert len(chat.sessions) == 0


async def test_the_proof_of_work_is_checked(core: Core) -> None:
    async with web_chat(core, proof_bits=12) as (base, chat), ChatClient(base) as client:
        async with client.http.get(client.base + "api/challenge") as response:
            challenge = (await response.json())["challenge"]
        cases = [
            ({"challenge": challenge, "answer": "0"}, "not solved"),
            ({"challenge": challenge.replace(".", ".9", 1), "answer": "1"}, "not one of ours"),
            ({"challenge": "garbage", "answer": "1"}, "malformed"),
            ({"challenge": challenge, "answer": "-1"}, "malformed"),
        ]
        for body, says in cases:
            status, answer = await client.post("api/session", body)
            assert status == 400 and says in answer["error"], answer
        answer_ = solve(challenge, 12)
        status, _ = await client.post("api/session", {"challenge": challenge, "answer": answer_})
        assert status == 200
        status, again = await client.post("api/session", {"challenge": challenge, "answer": answer_})
        assert status == 400 and "already used" in again["error"]
        assert len(chat.sessions) == 1


async def test_a_wrong_resume_code_is_refused_and_tries_are_limited(page: ChatClient) -> None:
    for _ in range(5):
        status, answer = await page.post("api/resume", {"code": "ABCD-EFGH"})
        assert status == 400 and "does not work" in answer["error"]
    status, answer = await page.post("api/resume", {"code": "ABCD-EFGH"})
    assert status == 429 and "Too many tries" in answer["error"]


async def test_a_flood_is_warned_once_then_dropped_and_the_address_is_limited(settings: Settings) -> None:
    core = await build_core(_limited(settings, ACCUEIL_FLOOD_BURST="3", ACCUEIL_FLOOD_PER_MINUTE="0.1"))
    try:
        async with web_chat(core) as (base, _), ChatClient(base) as page:
            await page.start()
            await page.question()
            statuses = [(await page.send(f"message {n}"))[0] for n in range(20)]
            flood = core.content.catalogs.render(None, Msg("common.flood"))
            await page.wait_for(lambda e: e["type"] == "message" and e["text"] == flood)
            warnings = [e for e in page.events if e["type"] == "message" and e["text"] == flood]
            assert len(warnings) == 1  # warned once; the rest were dropped
            # The address: three people's worth (burst 3 x 5) of requests, then a clear refusal.
            assert statuses[:13] == [200] * 13 and 429 in statuses
            status, answer = await page.send("one more")
            assert status == 429 and "wait a minute" in answer["error"]
            status, _ = await page.post("api/exit", {})
            assert status == 200  # the quick exit is never limited
            async with ChatClient(base, forwarded_for="203.0.113.9") as elsewhere:
                await elsewhere.start()  # another address, through the trusted proxy: not limited
                assert (await elsewhere.send("hello"))[0] == 200
    finally:
        await core.close()


async def test_the_daily_cap_counts_conversations_per_address(settings: Settings) -> None:
    core = await build_core(_limited(settings, ACCUEIL_CONVERSATIONS_PER_DAY="2"))
    try:
        async with web_chat(core) as (base, _):
            for n in range(3):
                async with ChatClient(base, forwarded_for="198.51.100.7") as page:
                    await page.start()
                    asked = await page.question()
                    status, answer = await page.press(page.button(asked, "English"))
                    if n < 2:
                        assert status == 200
                    else:
                        assert status == 429 and "116 006" in answer["error"]
    finally:
        await core.close()


async def test_the_chat_can_be_turned_off(settings: Settings) -> None:
    core = await build_core(_limited(settings, ACCUEIL_WEB_CHAT="off"))
    try:
        async with web_chat(core) as (base, _), aiohttp.ClientSession() as http:
            for path in ("/chat/", "/chat/static/chat.js", "/chat/api/challenge"):
                async with http.get(base + path) as response:
                    assert response.status == 404
    finally:
        await core.close()
