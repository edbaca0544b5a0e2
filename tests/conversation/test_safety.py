"""Floods, the daily cap and blocked users, through the real bot against the fake Bot API."""

from __future__ import annotations

import asyncio
import itertools
import logging
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import admin, staff
from bot.app.compose import Core
from bot.app.logs import JsonFormatter
from bot.app.settings import Settings
from bot.conversation.limits import Limits
from bot.transcript.writer import Entry, read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, ProcessedUpdate, TranscriptEntry
from testkit.accueil import operator_env, run_accueil
from testkit.fake_bot_api import FakeBotAPI
from testkit.guarded import guarded_bot
from testkit.telegram import TOKEN, Victim

FLOOD_EN = "You are sending messages very quickly."
TOO_MANY_EN = "You have started several conversations today"
DANGER_EN = "Are you in danger right now?"
#: Five at once, then one a second: a test that floods trips it, one that answers questions does not.
FLOOD = Limits(flood_burst=5, flood_per_minute=60, conversations_per_day=1000)


async def _cases(core: Core) -> list[Conversation]:
    async with core.sessions() as session:
        return list((await session.execute(select(Conversation).order_by(Conversation.id))).scalars())


async def _transcript(core: Core, case: Conversation, key: RecipientPrivateKey) -> list[Entry]:
    async with core.sessions() as session:
        return await read_transcript(session, case.public_id, key)


def _visible(api: FakeBotAPI, chat: int) -> list[str]:
    return [m.text or "" for m in api.chat_messages(chat) if not m.deleted]


async def test_a_flood_is_warned_once_then_dropped_and_does_not_slow_another_person(
    settings: Settings, recipient: RecipientPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=FLOOD) as running:
        flooder = Victim(api, user_id=7340012345, language_code="en")
        other = Victim(api, user_id=900002, language_code="en")
        await flooder.start()
        danger = await flooder.question()
        assert danger.text is not None and danger.text.startswith(DANGER_EN)
        for n in range(60):
            flooder.write(f"flood canary {n}")
        # Someone else goes through the intake meanwhile, at the pace of the bot's answers.
        await other.start()
        await other.answer("No")
        await other.answer("Yes")
        writer = await other.question()
        assert writer.text == "Are you writing for yourself, or for someone else?"

        await api.wait_updates_consumed()
        warnings = [t for t in flooder.texts() if t.startswith(FLOOD_EN)]
        assert len(warnings) == 1
        assert "17" in warnings[0] and "112" in warnings[0] and "114" in warnings[0]
        # Quiet for a few seconds: the flood is over; how many were dropped is recorded.
        case = (await _cases(running.core))[0]

        async def dropped_recorded() -> list[Entry]:
            entries = await _transcript(running.core, case, recipient)
            return [e for e in entries if e.who == "system" and "message(s) dropped" in (e.text or "")]

        for _ in range(100):
            if await dropped_recorded():
                break
            await asyncio.sleep(0.1)
        [note] = await dropped_recorded()
        entries = await _transcript(running.core, case, recipient)
        kept = [e.text for e in entries if e.who == "victim" and (e.text or "").startswith("flood canary")]
        dropped = int((note.text or "").split()[0])
        assert 0 < len(kept) < 5 and len(kept) + dropped == 60
        assert kept == [f"flood canary {n}" for n in range(len(kept))]  # the first ones, in order

        # A quick exit after the flood erases every message, the dropped ones too.
        victim_messages = [m for m in api.chat_messages(flooder.user_id) if not m.from_bot]
        assert len(victim_messages) == 61  # /start and the 60
        flooder.write("/exit")
        await api.wait_until(lambda: _visible(api, flooder.user_id) == [], 10)
    records = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "flood canary" not in records
    assert str(flooder.user_id) not in records


async def test_the_quick_exit_passes_in_the_middle_of_a_flood(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=FLOOD) as running:
        victim = Victim(api, user_id=900003, language_code="en")
        question = await victim.start()
        for n in range(30):
            victim.write(f"flood {n}")
        victim.press(question, "Exit and clear chat")  # an old keyboard's exit button works too
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        [case] = await _cases(running.core)
        assert case.quick_exit is True


async def test_a_person_who_keeps_starting_over_gets_a_kind_reply_and_no_new_conversation(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    limits = Limits(flood_burst=100, flood_per_minute=600, conversations_per_day=2)
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=limits) as running:
        victim = Victim(api, user_id=900004, language_code="en")
        for _ in range(2):
            await victim.start()
            await victim.question()
            victim.write("/exit")
            await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        victim.write("please help me")
        reply = await victim.message()
        assert reply.text is not None and reply.text.startswith(TOO_MANY_EN)
        assert "116 006" in reply.text and "17" in reply.text and "114" in reply.text
        cases = await _cases(running.core)
        assert len(cases) == 2
        entries = await _transcript(running.core, cases[-1], recipient)
        assert "please help me" in [e.text for e in entries if e.who == "victim"]
        assert "no new conversation: 2 opened in 24 hours" in [e.text for e in entries if e.who == "system"]
        # The reply is erased with the rest by a quick exit.
        victim.write("/exit")
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)


async def _counts(core: Core) -> tuple[int, int]:
    async with core.sessions() as session:
        entries = await session.scalar(select(func.count()).select_from(TranscriptEntry))
        updates = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    return int(entries or 0), int(updates or 0)


async def test_a_blocked_person_is_acknowledged_and_ignored_until_unblocked(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings) as running:
        victim = Victim(api, user_id=900005, language_code="en")
        await victim.start()
        danger = await victim.question()
        [case] = await _cases(running.core)
        now = datetime.now(UTC)
        said = await admin.block_case(running.core.sessions, case.public_id.lower(), now)
        assert said.startswith(f"the person who wrote in case {case.public_id} is blocked")
        assert "already" in await admin.block_case(running.core.sessions, case.public_id, now)
        before = await _counts(running.core), len(api.calls_of("sendMessage"))

        victim.write("blocked canary")
        pressed = victim.press(danger, "No")
        answer = await api.wait_for_callback_answer(pressed)  # the button's spinner stops
        assert answer.text is None
        await api.wait_updates_consumed()
        await asyncio.sleep(0.3)
        assert (await _counts(running.core), len(api.calls_of("sendMessage"))) == before
        [after] = await _cases(running.core)
        assert after.updated_at == case.updated_at
        assert any(getattr(r, "case", None) == case.public_id and "blocked" in r.getMessage() for r in caplog.records)

        assert "unblocked" in await admin.unblock_case(running.core.sessions, case.public_id)
        assert "was not blocked" in await admin.unblock_case(running.core.sessions, case.public_id)
        victim.write("/start")
        assert (await victim.message()).text is not None


async def test_staff_are_never_limited(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=FLOOD) as running:
        caseworker = 7340030001
        await staff.staff_add(
            running.core.sessions, running.core.keys, caseworker, "Marie", "caseworker", None, datetime.now(UTC)
        )
        for n in range(12):  # more than the flood limit's burst of 5
            api.user_sends_text(caseworker, f"note {n}")
        await api.wait_until(lambda: len(api.bot_messages(caseworker)) >= 12, 15)
        await api.wait_updates_consumed()
        texts = [m.text or "" for m in api.bot_messages(caseworker)]
        assert len(texts) == 12 and not any(t.startswith(FLOOD_EN) for t in texts)


async def test_replies_to_one_chat_are_spaced_by_the_pacing(settings: Settings) -> None:
    limits = Limits(send_chat_interval=0.3, send_chat_burst=1, send_per_second=1000, flood_burst=1000)
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=limits, paced=True):
        victim = Victim(api, user_id=7340030002, language_code="en")
        await victim.start()
        await victim.answer("No")
        await victim.question()
        sent = [c.at for c in api.calls if c.method != "getUpdates" and int(c.params.get("chat_id", 0)) == 7340030002]
        assert len(sent) >= 6  # language question; close, welcome, danger; close, consent
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        # Arrival times at the fake: a few milliseconds of HTTP jitter either way.
        assert min(gaps) >= 0.3 - 0.05, gaps


def _accueil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_accueil(
        *args, env=operator_env(ACCUEIL_DATA_DIR=str(settings.data_dir), ACCUEIL_DATABASE_URL=settings.database_url)
    )


async def test_block_and_unblock_from_the_command_line_name_the_case_never_the_person(settings: Settings) -> None:
    user = 7340030003
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings) as running:
        victim = Victim(api, user_id=user, language_code="en")
        victim.write("/start")
        await victim.question()
        [case] = await _cases(running.core)
    blocked = await asyncio.to_thread(_accueil, settings, "block", case.public_id.lower())
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.startswith(f"the person who wrote in case {case.public_id} is blocked")
    again = await asyncio.to_thread(_accueil, settings, "block", case.public_id)
    assert again.returncode == 0 and "already blocked" in again.stdout
    unknown = await asyncio.to_thread(_accueil, settings, "unblock", "ZZZZ-ZZZZ")
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == [
        "accueil: there is no case ZZZZ-ZZZZ (it may have been purged)"
    ]
    unblocked = await asyncio.to_thread(_accueil, settings, "unblock", case.public_id)
    assert unblocked.returncode == 0 and "is unblocked" in unblocked.stdout
    listed = await asyncio.to_thread(_accueil, settings, "parked", "list")
    assert listed.returncode == 0 and listed.stdout.strip() == "no parked update"
    for result in (blocked, again, unknown, unblocked):
        assert str(user) not in result.stdout + result.stderr
