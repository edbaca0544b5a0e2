"""Faults: a handler that raises, the database briefly away, the Bot API failing or slow, a SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import admin
from bot.app.compose import Core
from bot.app.logs import JsonFormatter
from bot.app.settings import Settings
from bot.transcript.writer import Entry, read_transcript
from bot.translation.port import Route, Translation
from storage.crypto import RecipientPrivateKey
from storage.db import make_engine
from storage.models import Conversation, OutboxMessage, ParkedUpdate, ProcessedUpdate
from testkit.fake_bot_api import FakeBotAPI
from testkit.fakes import FakeTranslator
from testkit.guarded import FlakySessions, guarded_bot
from testkit.telegram import TOKEN, Victim, start_accueil_run

KEPT_EN = "Sorry, something went wrong on our side. Your message has been saved."
CANARY = "CANARY-fault-8c2e"


class BrokenTranslator:
    """A translator with a bug: it raises what no one expects, quoting the text (as exceptions do)."""

    def __init__(self) -> None:
        self.calls = 0

    def route(self, source: str, target: str) -> Route | None:
        return Route(((source, target),))

    async def translate(self, text: str, source: str, target: str) -> Translation:
        self.calls += 1
        raise RuntimeError(f"unexpected: {text}")


async def _case(core: Core, user_index: int = 0) -> Conversation:
    async with core.sessions() as session:
        return list((await session.execute(select(Conversation).order_by(Conversation.id))).scalars())[user_index]


async def _transcript(core: Core, case: Conversation, key: RecipientPrivateKey) -> list[Entry]:
    async with core.sessions() as session:
        return await read_transcript(session, case.public_id, key)


async def test_a_failing_handler_keeps_the_message_tells_the_person_and_spares_the_others(
    settings: Settings, recipient: RecipientPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings) as running:
        core = running.core
        unlucky = Victim(api, user_id=7340020001, language_code="en")
        other = Victim(api, user_id=7340020002, language_code="en")
        unlucky.write("/start")
        await unlucky.answer("English")
        await unlucky.question()
        broken = BrokenTranslator()
        core.service.translator = broken
        unlucky.write(f"{CANARY} someone took my passport")  # typed: translated, and the translator raises
        other.write("/start")
        kept = await unlucky.api.wait_for_bot_message(unlucky.user_id, lambda m: (m.text or "").startswith(KEPT_EN))
        assert broken.calls == 3  # retried, then parked
        # The other person is unaffected.
        await other.answer("English")
        await other.answer("No")
        await api.wait_updates_consumed()
        # The update is parked, sealed: its content is nowhere in clear.
        async with core.sessions() as session:
            [parked] = (await session.execute(select(ParkedUpdate))).scalars().all()
            processed = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        case = await _case(core)
        assert parked.public_id == case.public_id and parked.attempts == 3
        assert parked.error.startswith("RuntimeError at tests/faults/test_faults.py:")
        assert CANARY.encode() not in parked.payload_sealed
        listed = await admin.parked_list(core.sessions)
        assert parked.ref in listed and CANARY not in listed
        entries = await _transcript(core, case, recipient)
        assert f"a message could not be handled; it is kept sealed as {parked.ref} for an operator to replay" in [
            e.text for e in entries
        ]
        assert kept.text is not None and CANARY not in str([e.text for e in entries])
        # Fixed (here: a working translator), the operator replays it: the words reach the transcript.
        core.service.translator = FakeTranslator({("en", "fr")})
        said = await admin.parked_replay(core.sessions, core.service, [parked.ref.lower()])
        assert said == f"{parked.ref}: replayed (case {case.public_id})"
        entries = await _transcript(core, case, recipient)
        [written] = [e for e in entries if e.who == "victim" and CANARY in (e.text or "")]
        assert written.translation == f"[en>fr] {CANARY} someone took my passport"
        assert await admin.parked_list(core.sessions) == "no parked update"
        async with core.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == (processed or 0) + 1
        # The bot's answer to the replayed message is queued, and the running bot sends it.
        await unlucky.question()
    logs = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert CANARY not in logs and str(unlucky.user_id) not in logs
    assert f"accueil parked replay {parked.ref}" in logs


async def test_a_replay_that_still_fails_keeps_the_update(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings) as running:
        core = running.core
        core.service.translator = BrokenTranslator()
        victim = Victim(api, user_id=7340020003)  # no language yet: the first message opens the case
        victim.write("/start")
        await victim.answer("English")
        await victim.question()
        victim.write("hello")
        await api.wait_for_bot_message(victim.user_id, lambda m: (m.text or "").startswith(KEPT_EN))
        said = await admin.parked_replay(core.sessions, core.service, [])
        assert "still fails (RuntimeError at tests/faults/test_faults.py:" in said and said.endswith("kept")
        with pytest.raises(Exception, match="no parked update NOPE-NOPE"):
            await admin.parked_replay(core.sessions, core.service, ["NOPE-NOPE"])


async def test_the_database_briefly_away_delays_an_update_but_loses_nothing(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    flaky: list[FlakySessions] = []

    def sessions(real: async_sessionmaker[AsyncSession]) -> FlakySessions:
        flaky.append(FlakySessions(real))
        return flaky[0]

    # Two attempts per receive: the third failure makes the poller hold the update and try again.
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, sessions=sessions, attempts=2) as running:
        victim = Victim(api, user_id=7340020004, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        danger = await victim.question()
        flaky[0].failures = 3
        victim.press(danger, "No")
        victim.write("written while the database was away")
        await victim.question(timeout=20)
        await api.wait_updates_consumed()
        assert flaky[0].failed == 3
        entries = await _transcript(running.core, await _case(running.core), recipient)
        said = [e.text for e in entries if e.who == "victim"]
        assert said.count("written while the database was away") == 1
        assert said.count("No") == 1


async def test_bot_api_errors_and_timeouts_keep_the_bot_running(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, request_timeout=2) as running:
        victim = Victim(api, user_id=7340020005, language_code="en")
        api.fail_next("getUpdates", status=502)
        api.fail_next("getUpdates", status=None, delay=3.0)  # longer than the client waits: a timeout
        victim.write("/start")
        language = await victim.question(timeout=20)
        api.fail_next("answerCallbackQuery", status=500)
        api.fail_next("editMessageText", status=503)
        api.fail_next("sendMessage", status=504)
        victim.press(language, "English")
        danger = await victim.question(timeout=20)
        assert danger.text is not None and danger.text.startswith("Are you in danger")
        api.fail_next("sendMessage", status=None, delay=3.0)  # sent, but the answer comes too late
        victim.press(danger, "No")
        consent = await victim.question(timeout=20)
        assert consent.text is not None and consent.text.startswith("Do you agree")
        statuses = sorted(c.status for c in api.calls if c.status != 200)
        assert statuses == [500, 502, 503, 504]

        async def pending() -> int:
            async with running.core.sessions() as session:
                return int(
                    await session.scalar(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
                    )
                    or 0
                )

        for _ in range(100):
            if await pending() == 0:
                break
            await asyncio.sleep(0.1)
        assert await pending() == 0
        # A send that timed out may have reached the chat anyway; it is retried, so it may show twice
        # (at least once, never lost: the Bot API has no way to make a send idempotent).
        assert 1 <= [m.text for m in api.bot_messages(victim.user_id)].count(consent.text) <= 2
        closed = api.message(victim.user_id, language.message_id)
        assert closed is not None and closed.text is not None and closed.text.endswith("→ English")


async def _start(api: FakeBotAPI, settings: Settings) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "ACCUEIL_TELEGRAM_TOKEN": TOKEN,
        "ACCUEIL_DATA_DIR": str(settings.data_dir),
        "ACCUEIL_DATABASE_URL": settings.database_url,
        "ACCUEIL_OFFICE_HOURS": "always",
    }
    return await start_accueil_run(api, env)


async def test_sigterm_finishes_what_is_in_flight_then_exits(settings: Settings, tmp_path: Path) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        process = await _start(api, settings)
        try:
            victim = Victim(api, user_id=7340020006, language_code="en")
            victim.write("/start")
            language = await victim.question(timeout=30)
            # The answer's replies are slow to send: SIGTERM arrives while they are in flight.
            api.delay_next("editMessageText", 1.5)
            api.delay_next("sendMessage", 0.5, count=2)
            victim.press(language, "English")
            await api.wait_updates_consumed(timeout=15)
            await asyncio.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert b"Traceback" not in stderr
        # Everything the answer called for was delivered before the process left.
        texts = victim.texts()
        assert any(t.startswith("Are you in danger") for t in texts), texts
        closed = api.message(victim.user_id, language.message_id)
        assert closed is not None and closed.text is not None and closed.text.endswith("→ English")
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            pending = await connection.scalar(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
    finally:
        await engine.dispose()
    assert pending == 0
