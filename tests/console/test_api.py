"""The console's JSON API against the real bot, the real database and the real web server: every
endpoint refused to nobody, to a caseworker on another's case and to an interpreter not invited;
CSRF and foreign origins refused; a removed staff member's session ends at once; sign-in attempts
are limited; the work done through the console is the same as through Telegram, and is audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.app.staff import staff_remove
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from testkit.staffed import MARIE, MARIE_ID, PAUL_ID, SAMIRA, SAMIRA_ID, words
from tests.console.conftest import Served

#: Every endpoint that concerns one case, with a body that would be valid for the right person.
CASE_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", "/colleagues", None),
    ("GET", "/bundle?key=0123456789abcdef", None),
    ("POST", "/claim", None),
    ("POST", "/reply", {"text": "Bonjour"}),
    ("POST", "/invite", {"staff_id": SAMIRA_ID}),
    ("POST", "/transfer", {"staff_id": PAUL_ID}),
    ("POST", "/close", None),
    ("POST", "/reopen", None),
    ("POST", "/block", None),
    ("POST", "/export", {"format": "md"}),
]
#: Every endpoint that concerns no case.
OTHER_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/console/api/me", None),
    ("GET", "/console/api/queue", None),
    ("GET", "/console/api/events", None),
    ("POST", "/console/api/signout", None),
]


async def call(
    http: aiohttp.ClientSession, served: Served, method: str, path: str, body: object, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, served.base + path, json=body, headers=headers) as response:
        data = await response.json() if response.content_type == "application/json" else {}
        return response.status, data


async def handed_off_and_claimed(served: Served, http: aiohttp.ClientSession, user: int) -> str:
    """A person asks for someone in Arabic; Marie claims the case in the console."""
    _, case, _ = await served.team.hand_off_in_arabic(user)
    marie = served.signed_in(MARIE_ID)
    status, body = await call(http, served, "POST", f"/console/api/cases/{case}/claim", None, served.headers(marie))
    assert status == 200 and body["status"] == "claimed" and body["caseworker"] == "Marie"
    return case


async def test_every_endpoint_refuses_nobody_another_caseworker_and_an_interpreter_not_invited(
    served: Served, http: aiohttp.ClientSession
) -> None:
    case = await handed_off_and_claimed(served, http, 7201)
    paul, samira = served.signed_in(PAUL_ID), served.signed_in(SAMIRA_ID)
    for method, tail, body in CASE_ENDPOINTS:
        path = f"/console/api/cases/{case}{tail}"
        status, _ = await call(http, served, method, path, body, served.headers(None))
        assert status == 401, (method, path, "nobody")
        status, answer = await call(http, served, method, path, body, served.headers(paul))
        assert status == (409 if tail == "/claim" else 403), (method, path, "Paul")
        assert "Marie" in answer["error"] if tail == "/claim" else True  # told who has it
        status, _ = await call(http, served, method, path, body, served.headers(samira))
        assert status == 403, (method, path, "Samira, not invited")
        status, _ = await call(http, served, method, f"/console/api/cases/NOSUCH{tail}", body, served.headers(paul))
        assert status in (403, 404), (method, path, "no such case")
    for method, path, body in OTHER_ENDPOINTS:
        status, _ = await call(http, served, method, path, body, served.headers(None))
        assert status == 401, (method, path, "nobody")
    # The queue shows Paul only what waits, and Samira nothing she was not invited to.
    _, queue = await call(http, served, "GET", "/console/api/queue", None, served.headers(paul))
    assert queue["waiting"] == [] and queue["mine"] == []
    _, queue = await call(http, served, "GET", "/console/api/queue", None, served.headers(samira))
    assert queue == {"waiting": [], "mine": [], "office": {"open": True, "next_open": None}}
    # Nothing was changed by any refused request: the case is still Marie's, claimed, with no interpreter.
    conversation = await served.team.conversation(case)
    assert (conversation.case_status, conversation.caseworker_id, conversation.interpreter_id) == (
        "claimed",
        MARIE_ID,
        None,
    )


async def test_state_changes_need_the_csrf_token_and_the_consoles_own_origin(
    served: Served, http: aiohttp.ClientSession
) -> None:
    case = await handed_off_and_claimed(served, http, 7202)
    marie = served.signed_in(MARIE_ID)
    path = f"/console/api/cases/{case}/close"
    status, _ = await call(http, served, "POST", path, None, served.headers(marie, csrf=False))
    assert status == 403
    wrong = {**served.headers(marie), "X-CSRF-Token": served.signed_in(PAUL_ID).csrf}
    assert (await call(http, served, "POST", path, None, wrong))[0] == 403
    foreign = {**served.headers(marie), "Origin": "https://elsewhere.example"}
    assert (await call(http, served, "POST", path, None, foreign))[0] == 403
    signin = {"Origin": "https://elsewhere.example"}
    assert (await call(http, served, "POST", "/console/auth/signin/options", {}, signin))[0] == 403
    assert (await served.team.conversation(case)).case_status == "claimed"
    status, body = await call(http, served, "POST", path, None, served.headers(marie))
    assert status == 200 and body["status"] == "closed"


async def test_a_removed_staff_members_session_ends_at_once(served: Served, http: aiohttp.ClientSession) -> None:
    case = await handed_off_and_claimed(served, http, 7203)
    marie = served.signed_in(MARIE_ID)
    assert (await call(http, served, "GET", "/console/api/me", None, served.headers(marie)))[0] == 200
    core = served.team.running.core
    await staff_remove(core.sessions, core.handoff, MARIE_ID, datetime.now(UTC))  # as another process would
    status, _ = await call(http, served, "GET", f"/console/api/cases/{case}", None, served.headers(marie))
    assert status == 401
    assert served.console.store.get(marie.id) is None  # the session itself is gone, not only refused


async def test_a_removed_staff_members_live_stream_ends(served: Served, http: aiohttp.ClientSession) -> None:
    samira = served.signed_in(SAMIRA_ID)
    url = served.base + "/console/api/events"
    async with http.get(url, headers=served.headers(samira)) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        first = await response.content.readuntil(b"\n\n")
        assert first.startswith(b"event: queue\n")
        core = served.team.running.core
        await staff_remove(core.sessions, core.handoff, SAMIRA_ID, datetime.now(UTC))
        rest = await asyncio.wait_for(response.content.read(), timeout=5)
    assert b"event: end\n" in rest


async def test_sign_in_attempts_are_limited_per_address(served: Served, http: aiohttp.ClientSession) -> None:
    statuses = []
    for _ in range(12):
        status, _ = await call(http, served, "POST", "/console/auth/signin/options", {}, {"Origin": served.base})
        statuses.append(status)
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    status, _ = await call(http, served, "POST", "/console/auth/enrol/options", {"token": "x"}, {"Origin": served.base})
    assert status == 429


async def test_an_idle_session_ends(served: Served, http: aiohttp.ClientSession) -> None:
    marie = served.signed_in(MARIE_ID)
    marie.last_seen -= served.console.store.idle + 1
    assert (await call(http, served, "GET", "/console/api/me", None, served.headers(marie)))[0] == 401


@pytest.mark.parametrize("frames", ["'none'", "https://partner.example"])
async def test_every_answer_is_never_framed_and_never_cached(settings: Any, frames: str) -> None:
    from tests.console.conftest import serving_console

    async with serving_console(settings, frame_ancestors=frames) as served, aiohttp.ClientSession() as http:
        marie = served.signed_in(MARIE_ID)
        for path, headers in [
            ("/console/", {}),
            ("/console/enrol/not-a-token", {}),
            ("/console/api/me", served.headers(marie)),
            ("/console/api/queue", {}),
            ("/console/static/console.css", {}),
        ]:
            async with http.get(served.base + path, headers=headers) as response:
                csp = response.headers["Content-Security-Policy"]
                assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
                assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
                assert response.headers["X-Frame-Options"] == "DENY"
                assert response.headers["Cache-Control"] == "no-store"
                assert response.headers["Referrer-Policy"] == "no-referrer"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                body = await response.text()
                assert "Traceback" not in body
        async with http.get(served.base + "/console/enrol/not-a-token") as response:
            assert response.status == 410


async def test_working_a_case_through_the_console_is_working_it_through_telegram(
    served: Served, http: aiohttp.ClientSession, recipient: RecipientPrivateKey
) -> None:
    team = served.team
    case = await handed_off_and_claimed(served, http, 7204)
    marie = served.signed_in(MARIE_ID)
    victim_id = 7204
    await team.said_to(victim_id, team.render("ar", "handoff.claimed"))

    status, facts = await call(http, served, "GET", f"/console/api/cases/{case}", None, served.headers(marie))
    assert status == 200 and facts["language"] == "ar" and facts["yours"] is True
    # A reply: translated into Arabic, marked as machine translation, delivered by the outbox.
    status, sent = await call(
        http,
        served,
        "POST",
        f"/console/api/cases/{case}/reply",
        {"text": "Bonjour, je suis Marie."},
        served.headers(marie),
    )
    assert status == 200 and sent["written"] == "Bonjour, je suis Marie."
    assert sent["sent"].startswith("[en>ar] [fr>en] Bonjour, je suis Marie.")
    assert team.render("ar", "handoff.machine_translated") in sent["sent"]
    received = await team.said_to(victim_id, "Bonjour, je suis Marie.")
    assert words(received) == sent["sent"]
    # The interpreters offered speak the person's language; Samira is invited and told on Telegram.
    _, offered = await call(http, served, "GET", f"/console/api/cases/{case}/colleagues", None, served.headers(marie))
    assert [p["name"] for p in offered["interpreters"]] == ["Samira"]
    assert [p["name"] for p in offered["caseworkers"]] == ["Paul"]
    status, facts = await call(
        http, served, "POST", f"/console/api/cases/{case}/invite", {"staff_id": SAMIRA_ID}, served.headers(marie)
    )
    assert status == 200 and facts["interpreter"] == "Samira"
    await team.said_to(SAMIRA, f"vous invite sur le dossier {case}")
    # Samira now sees the case, and only it.
    samira = served.signed_in(SAMIRA_ID)
    _, queue = await call(http, served, "GET", "/console/api/queue", None, served.headers(samira))
    assert [row["case"] for row in queue["mine"]] == [case] and queue["waiting"] == []
    assert (await call(http, served, "GET", f"/console/api/cases/{case}", None, served.headers(samira)))[0] == 200
    # Export (made in the browser) is recorded; close; block.
    status, _ = await call(
        http, served, "POST", f"/console/api/cases/{case}/export", {"format": "json"}, served.headers(marie)
    )
    assert status == 200
    status, facts = await call(http, served, "POST", f"/console/api/cases/{case}/close", None, served.headers(marie))
    assert status == 200 and facts["status"] == "closed"
    await team.said_to(victim_id, team.render("ar", "handoff.case_closed"))
    await team.said_to(MARIE, f"Dossier {case} clos par Marie.")  # Telegram heard of it too
    assert (await call(http, served, "GET", f"/console/api/cases/{case}", None, served.headers(samira)))[0] == 403
    # Reopened: what the person writes reaches Marie again.
    status, facts = await call(http, served, "POST", f"/console/api/cases/{case}/reopen", None, served.headers(marie))
    assert status == 200 and facts["status"] == "active" and facts["caseworker"] == "Marie"
    team.api.user_sends_text(victim_id, "CANARY-AGAIN", language_code="ar")
    await team.said_to(MARIE, "CANARY-AGAIN")
    status, _ = await call(http, served, "POST", f"/console/api/cases/{case}/reopen", None, served.headers(marie))
    assert status == 403  # not closed any more
    status, blocked = await call(http, served, "POST", f"/console/api/cases/{case}/block", None, served.headers(marie))
    assert status == 200 and blocked["blocked"] is True

    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    events = [e.text for e in entries if e.kind == "event"]
    assert events[1:] == [
        "claimed by Marie",
        "opened in the console by Marie",
        "interpreter Samira joined",
        "opened in the console by Samira",
        "exported as JSON in the console by Marie",
        "closed by Marie",
        "reopened by Marie",
        "writer blocked by Marie",
    ]
    replies = [(e.who, e.by, e.text, e.machine_translated) for e in entries if e.who == "caseworker"]
    assert replies == [("caseworker", "Marie", "Bonjour, je suis Marie.", True)]


async def test_two_claims_at_once_one_wins_and_the_other_is_told_who(
    served: Served, http: aiohttp.ClientSession
) -> None:
    _, case, _ = await served.team.hand_off_in_arabic(7205)
    marie, paul = served.signed_in(MARIE_ID), served.signed_in(PAUL_ID)
    path = f"/console/api/cases/{case}/claim"
    answers = await asyncio.gather(
        call(http, served, "POST", path, None, served.headers(marie)),
        call(http, served, "POST", path, None, served.headers(paul)),
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 409]
    winner = next(body["caseworker"] for status, body in answers if status == 200)
    loser = next(body["error"] for status, body in answers if status == 409)
    assert winner in ("Marie", "Paul") and winner in loser


async def test_a_transfer_moves_the_case_and_an_interpreter_writes_as_written(
    served: Served, http: aiohttp.ClientSession
) -> None:
    team = served.team
    case = await handed_off_and_claimed(served, http, 7206)
    marie, paul, samira = served.signed_in(MARIE_ID), served.signed_in(PAUL_ID), served.signed_in(SAMIRA_ID)
    base = f"/console/api/cases/{case}"
    assert (await call(http, served, "POST", base + "/invite", {"staff_id": SAMIRA_ID}, served.headers(marie)))[
        0
    ] == 200
    status, sent = await call(
        http, served, "POST", base + "/reply", {"text": "مرحبا، أنا سميرة"}, served.headers(samira)
    )
    assert status == 200 and sent["sent"] == "مرحبا، أنا سميرة"  # the interpreter's words as written
    await team.api.wait_for_bot_message(7206, lambda m: m.text == "مرحبا، أنا سميرة")
    # Interpreters neither close, invite, transfer nor block.
    for tail in ("/close", "/block", "/colleagues"):
        method = "GET" if tail == "/colleagues" else "POST"
        assert (await call(http, served, method, base + tail, None, served.headers(samira)))[0] == 403
    status, moved = await call(http, served, "POST", base + "/transfer", {"staff_id": PAUL_ID}, served.headers(marie))
    assert status == 200 and moved == {"case": case, "to": "Paul"}
    assert (await call(http, served, "GET", base, None, served.headers(marie)))[0] == 403
    status, facts = await call(http, served, "GET", base, None, served.headers(paul))
    assert status == 200 and facts["caseworker"] == "Paul" and facts["yours"] is True
    # A transfer to an interpreter, or to oneself, is refused with the Telegram side's reason.
    status, _ = await call(http, served, "POST", base + "/transfer", {"staff_id": PAUL_ID}, served.headers(paul))
    assert status == 400


async def test_housekeeping_ends_with_the_bot(served: Served) -> None:
    stop = asyncio.Event()
    tasks = served.console.housekeeping(stop)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert served.console.closing.is_set()
