"""The web chat in Debian's Chromium: a person's whole visit, every request captured.

A whole intake in English and in Arabic, handed off to a caseworker on the fake
Telegram Bot API who answers (the person sees it within 2 seconds); the quick
exit by its button and by Escape three times, after which nothing is left in the
browser and the server refuses the old session; a reload that shows nothing old;
the transcript sealed (the canary typed in the page is in no file under the data
directory). Screenshots of both languages go to docs/.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page
from sqlalchemy import select

from bot.app.compose import Core
from bot.app.logs import JsonFormatter
from bot.app.settings import Settings
from bot.channels.web import WebChat
from bot.channels.web.proof import BITS
from bot.engine import Msg
from storage.models import Conversation, OutboxMessage
from testkit.browser import Recorder, chromium, needs_chromium, page_in, screenshot
from testkit.staffed import MARIE, Team, staffed_bot
from testkit.webchat import neutral_site, web_chat

pytestmark = needs_chromium

PHONE = (412, 860)
WORDS = {"en": "I sleep at a friend's place, near the station.", "ar": "أنام عند صديقة، قرب المحطة."}
#: The page moved on from question `id` (with `n` buttons): a new question, a choice ticked, or the code offered.
MOVED_ON = """([id, n]) => {
  const asked = [...document.querySelectorAll('.msg.bot')].filter(m => m.querySelector('.buttons'));
  const last = asked[asked.length - 1];
  if (!document.getElementById('resume').hidden) return true;
  if (!last) return false;
  const buttons = [...last.querySelectorAll('button')];
  return last.dataset.id !== id || buttons.length !== n || buttons.some(b => b.textContent.startsWith('✓'));
}"""
EXIT = "/elsewhere/"


async def _chat(page: Page, base: str) -> None:
    await page.goto(base + "/chat/")
    await page.locator(".msg.bot .buttons button").first.wait_for()


async def _last_question(page: Page) -> tuple[str | None, list[str]]:
    """The id and button labels of the latest message that still has buttons."""
    found = await page.evaluate(
        "() => { const q = [...document.querySelectorAll('.msg.bot')].filter(m => m.querySelector('.buttons'));"
        " const last = q[q.length - 1]; if (!last) return [null, []];"
        " return [last.dataset.id, [...last.querySelectorAll('button')].map(b => b.textContent)]; }"
    )
    return found[0], list(found[1])


async def _walk_intake(
    page: Page, team: Team, language: str, words: str, previous: tuple[str | None, list[str]]
) -> int:
    """Answer every question: the first option, all choices done, `words` where text is asked, until the
    resume code is offered (the intake is over and handed off). How many questions were answered."""
    render = team.render
    engine_buttons = {render(language, key) for key in ("common.skip", "common.human", "common.exit")}
    done = render(language, "common.done")
    answered = 0
    for _ in range(40):
        if await page.locator("#resume").is_visible():
            return answered
        current = await _last_question(page)
        if current == previous or current[0] is None:
            await page.wait_for_timeout(50)
            continue
        ident, labels = current
        options = [label for label in labels if label not in engine_buttons and label != done]
        asked = page.locator(f'.msg.bot[data-id="{ident}"]')
        if done in labels and any(label.startswith("✓") for label in labels):
            await asked.get_by_role("button", name=done, exact=True).click()
        elif options:
            await asked.get_by_role("button", name=options[0], exact=True).click()
        else:
            await page.locator("#text").fill(words)
            await page.locator("#send").click()
        answered += 1
        previous = current
        await page.wait_for_function(MOVED_ON, arg=[ident, len(labels)])
    raise AssertionError("the intake did not end")


@pytest.fixture
async def staffed(settings: Settings) -> AsyncIterator[tuple[Team, str, WebChat]]:
    # A test answers faster than anyone types: the flood limit (tested on its own) is raised here.
    async with staffed_bot(settings, ACCUEIL_WEB_EXIT_URL=EXIT, ACCUEIL_FLOOD_BURST="60") as team:
        running = team.running
        async with web_chat(running.core, running.outbox, parts={EXIT: neutral_site()}) as (base, chat):
            yield team, base, chat


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize(
    ("language", "label", "direction", "marker"),
    [("en", "English", "ltr", "[fr>en]"), ("ar", "العربية", "rtl", "[en>ar]")],
)
async def test_a_whole_intake_handed_off_and_answered_from_telegram(
    staffed: tuple[Team, str, WebChat],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    language: str,
    label: str,
    direction: str,
    marker: str,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    shots = tmp_path
    team, base, _ = staffed
    # What the person types: plain words, made unique (a canary) by the number at the end.
    canary = f"{WORDS[language]} {secrets.randbelow(10**8):08d}"
    async with chromium() as browser, page_in(browser, viewport=PHONE) as (page, recorder):
        await _chat(page, base)
        first = await _last_question(page)
        await page.get_by_role("button", name=label, exact=True).click()
        await page.wait_for_function("l => document.documentElement.lang === l", arg=language)
        assert await page.evaluate("document.documentElement.dir") == direction
        answered = await _walk_intake(page, team, language, canary, first)
        assert answered >= 8
        code = await page.locator("#resume-code").inner_text()
        assert len(code) == 9 and code[4] == "-"

        notice = await team.notice()
        assert "chat web" in (notice.text or "")
        case = (await team.conversation()).public_id
        await team.claim(MARIE, case, notice)
        team.api.user_sends_text(MARIE, "Bonjour, je suis Marie.")
        sent = time.monotonic()
        reply = page.locator(".msg.bot", has_text="Bonjour, je suis Marie.")
        await reply.wait_for(timeout=2000)
        assert time.monotonic() - sent < 2.0
        assert marker in await reply.inner_text()
        # Each line reads in its own direction: the caseworker's French words left to right, the mark
        # "(machine translation)" in the person's language as that language is written.
        lines = await reply.locator("div[dir=auto]").evaluate_all(
            "ls => ls.filter(l => l.textContent).map(l => [l.textContent, getComputedStyle(l).direction])"
        )
        assert "Bonjour, je suis Marie." in lines[0][0] and lines[0][1] == "ltr", lines
        assert lines[-1][0].startswith("(") and lines[-1][1] == direction, lines
        await page.screenshot(path=str(screenshot(f"web-chat-{language}.png", shots)), full_page=False)

        assert recorder.origins() == {base}
        assert await page.evaluate("document.cookie") == ""
    conversation = await team.conversation(case)
    assert conversation.channel == "web" and conversation.case_status is not None
    # The transcript is sealed like a Telegram one: the words typed in the page are in no file.
    await asyncio.sleep(0.2)
    assert _files_holding(settings.data_dir, canary.encode()) == []
    relayed = "\n".join(m.text or "" for m in team.api.bot_messages(MARIE))
    assert canary in relayed  # the caseworker got them (translated, with the original)
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert canary not in logged and code not in logged


async def _exit_leaves_nothing(page: Page, recorder: Recorder, base: str, chat: WebChat, team: Team) -> None:
    """After a quick exit: the neutral page, no way back, nothing in the browser, the session refused."""
    await page.wait_for_url(base + EXIT)
    assert await page.evaluate("history.length") <= 2
    await page.go_back()
    assert "/chat/" not in page.url
    await page.goto(base + EXIT)
    kept = await page.evaluate(
        "async () => ({cookie: document.cookie, local: localStorage.length, session: sessionStorage.length,"
        " idb: (await indexedDB.databases()).length})"
    )
    assert kept == {"cookie": "", "local": 0, "session": 0, "idb": 0}
    for _ in range(50):
        if not await page.context.cookies():
            break
        await asyncio.sleep(0.05)
    assert await page.context.cookies() == []
    assert len(chat.sessions) == 0
    assert recorder.origins() == {base}


async def _old_session_is_refused(base: str, cookie: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar, cookies={"chat": cookie}) as http,
        http.get(base + "/chat/api/poll") as response,
    ):
        assert response.status == 401
        assert "ended" in (await response.json())["error"]


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_the_quick_exit_leaves_nothing_behind(staffed: tuple[Team, str, WebChat], how: str) -> None:
    team, base, chat = staffed
    async with chromium() as browser, page_in(browser, viewport=PHONE) as (page, recorder):
        await _chat(page, base)
        await page.get_by_role("button", name="English", exact=True).click()
        await page.locator(".msg.bot", has_text=team.render("en", "intake.safety.ask")[:20]).wait_for()
        cookie = (await page.context.cookies())[0]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1
        if how == "button":
            await page.locator("#exit").click()
        else:
            for _ in range(3):
                await page.keyboard.press("Escape")
        await _exit_leaves_nothing(page, recorder, base, chat, team)
        await _old_session_is_refused(base, cookie["value"])
    conversation = await team.conversation()
    assert conversation.quick_exit is True and conversation.channel == "web"
    async with team.running.core.sessions() as session:
        kept = (await session.execute(select(Conversation).where(Conversation.id == conversation.id))).scalar_one()
    assert kept.public_id == conversation.public_id  # the case is kept


async def test_a_reload_shows_nothing_old(staffed: tuple[Team, str, WebChat]) -> None:
    team, base, _ = staffed
    async with chromium() as browser, page_in(browser, viewport=PHONE) as (page, recorder):
        await _chat(page, base)
        await page.get_by_role("button", name="English", exact=True).click()
        safety = team.render("en", "intake.safety.ask")[:20]
        await page.locator(".msg.bot", has_text=safety).wait_for()
        hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
        await page.locator("#text").fill(hostile)
        await page.locator("#send").click()
        await page.locator(".msg.me", has_text="onerror").wait_for()
        assert await page.evaluate("document.querySelectorAll('main img, main script').length") == 0
        assert await page.evaluate("window.pwned === undefined")
        await page.reload()
        await page.locator(".msg.bot .buttons button").first.wait_for()
        assert await page.locator(".msg.bot", has_text=safety).count() == 0
        assert await page.locator(".msg").count() == 1  # the language question, afresh
        assert await page.locator(".msg", has_text="onerror").count() == 0
        assert recorder.origins() == {base}


async def _pending_for_the_person(team: Team, case: str) -> int:
    async with team.running.core.sessions() as session:
        conversation = (await session.execute(select(Conversation).where(Conversation.public_id == case))).scalar_one()
        found = await session.execute(
            select(OutboxMessage).where(
                OutboxMessage.conversation_id == conversation.id,
                OutboxMessage.destination == "victim",
                OutboxMessage.status == "pending",
            )
        )
        return len(found.scalars().all())


async def test_a_resume_code_brings_back_what_was_written_meanwhile(staffed: tuple[Team, str, WebChat]) -> None:
    team, base, chat = staffed
    chat.sessions.away = 0.3  # a page is taken for gone 0.3 s after it closed (5 s when running)
    human = team.render("en", "common.human")
    async with chromium() as browser:
        async with page_in(browser, viewport=PHONE) as (page, _):
            await _chat(page, base)
            await page.get_by_role("button", name="English", exact=True).click()
            await page.locator(".msg.bot:has(.buttons)").last.get_by_role("button", name=human, exact=True).click()
            await page.locator("#resume-code").wait_for()
            code = await page.locator("#resume-code").inner_text()
        notice = await team.notice()
        case = (await team.conversation()).public_id
        await team.claim(MARIE, case, notice)
        # The page counts as there for `away` seconds after its stream last ended (a reconnect, a long
        # poll); what comes meanwhile waits in that session for a resume. Marie writes once it is gone.
        for _ in range(200):
            if not any(chat.sessions.reachable(session) for session in chat.sessions):
                break
            await asyncio.sleep(0.05)
        assert not any(chat.sessions.reachable(session) for session in chat.sessions)
        await asyncio.sleep(0.2)  # the claim's own message to the person has met the closed page
        before = await _pending_for_the_person(team, case)  # what the claim told the person waits too
        team.api.user_sends_text(MARIE, "Are you safe now?")
        for _ in range(100):  # the page is gone: the reply waits in the outbox
            if await _pending_for_the_person(team, case) > before:
                break
            await asyncio.sleep(0.05)
        assert await _pending_for_the_person(team, case) == before + 1

        async with page_in(browser, viewport=PHONE) as (page, recorder):
            await _chat(page, base)
            assert await page.locator(".msg", has_text="Are you safe now?").count() == 0
            await page.locator("#have-code").click()
            await page.locator("#code").fill("ZZZZ-ZZZZ")
            await page.locator("#code-go").click()
            await page.locator("#status", has_text="This code does not work").wait_for()
            await page.locator("#code").fill(code.lower().replace("-", " "))
            await page.locator("#code-go").click()
            await page.locator(".msg.bot", has_text="Are you safe now?").wait_for(timeout=3000)
            assert await page.locator(".msg.bot", has_text=team.render("en", "intake.language.ask")[:15]).count() == 0
            assert recorder.origins() == {base}
        assert await _pending_for_the_person(team, case) == 0


@pytest.mark.parametrize("blocked", ["no EventSource", "event stream held back"])
async def test_long_polling_takes_over_when_events_do_not_get_through(core: Core, blocked: str) -> None:
    """Behind a proxy that holds event streams back, or in a browser without them: the same chat by long
    polling. The proof of work runs at its real strength here (the page's WebCrypto solver)."""
    async with (
        web_chat(core, proof_bits=BITS) as (base, _),
        chromium() as browser,
        page_in(browser, viewport=PHONE) as (page, recorder),
    ):
        if blocked == "no EventSource":
            await page.add_init_script("delete window.EventSource;")
        else:
            await page.route("**/api/events*", lambda route: route.abort())
        started = time.monotonic()
        await _chat(page, base)
        solved_in = time.monotonic() - started
        await page.get_by_role("button", name="English", exact=True).click()
        await page.wait_for_function("() => document.documentElement.lang === 'en'")
        await page.locator(".msg.bot:has(.buttons)").nth(0).wait_for()
        polls = [seen for seen in recorder.seen if "/api/poll" in seen.url]
        assert polls and all(seen.status in (200, None) for seen in polls)
        assert recorder.origins() == {base}
    assert solved_in < 15, f"the page took {solved_in:.1f} s to start"


async def test_a_flood_typed_in_the_page_is_warned_once(core: Core) -> None:
    """Telegram's flood limit, in the page: ten messages at once are taken, then one warning, then silence."""
    flood = core.content.catalogs.render("en", Msg("common.flood"))
    async with (
        web_chat(core) as (base, _),
        chromium() as browser,
        page_in(browser, viewport=PHONE) as (page, recorder),
    ):
        await _chat(page, base)
        await page.get_by_role("button", name="English", exact=True).click()
        await page.wait_for_function("() => document.documentElement.lang === 'en'")
        for n in range(16):
            await page.locator("#text").fill(f"message {n}")
            await page.locator("#text").press("Enter")
        await page.locator(".msg.bot", has_text=flood[:30]).wait_for()
        await page.wait_for_timeout(500)
        assert await page.locator(".msg.bot", has_text=flood[:30]).count() == 1
        sends = [seen for seen in recorder.seen if seen.url.endswith("/api/send")]
        assert len(sends) == 17 and all(seen.status == 200 for seen in sends)
        assert recorder.origins() == {base}
