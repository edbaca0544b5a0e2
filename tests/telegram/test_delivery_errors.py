"""Every Bot API answer handled: each error class, injected through the fake Bot API, has one policy,
and one conversation's failure never holds back another's delivery."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import admin
from bot.app.compose import Core
from bot.app.logs import JsonFormatter
from bot.app.settings import PROJECT_ROOT, Settings
from bot.channels.base import OutItem
from bot.channels.telegram.runner import make_bot, publish_commands
from bot.channels.telegram.sender import TelegramSender
from bot.clock import utcnow
from bot.engine import Msg
from bot.errors import DeliveryError, RecipientGone, Refused, RetryLater, TokenRevoked
from bot.outbox.set_aside import NOT_DELIVERED
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot, start_accueil_run


async def _conversation_of(running: RunningBot, chat: int) -> int:
    async with running.core.sessions() as session:
        for conversation in (await session.execute(select(Conversation))).scalars():
            if running.core.keys.open(conversation.chat_sealed, f"chat:{conversation.public_id}") == str(chat).encode():
                return conversation.id
    raise AssertionError(f"no conversation with chat {chat}")


async def _rows(running: RunningBot, chat: int) -> Sequence[OutboxMessage]:
    """The outbox rows of the conversation with `chat`, oldest first."""
    conversation_id = await _conversation_of(running, chat)
    async with running.core.sessions() as session:
        found = await session.execute(
            select(OutboxMessage).where(OutboxMessage.conversation_id == conversation_id).order_by(OutboxMessage.id)
        )
        return found.scalars().all()


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        await asyncio.sleep(0.05)


def _logs(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(JsonFormatter().format(record) for record in caplog.records)


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: chat not found"),
        (404, "Not Found"),
        (413, "Request Entity Too Large"),
    ],
)
async def test_the_sender_lets_no_aiogram_error_out(status: int, description: str) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_user(4100)
        bot = make_bot(TOKEN, api.base_url)
        try:
            api.fail_next("sendMessage", status=status, description=description)
            with pytest.raises(Refused) as refused:
                await TelegramSender(bot).deliver("4100", OutItem(kind="message", text="hello"))
            assert f"sendMessage answered {status}" in refused.value.reason
            assert "hello" not in str(refused.value)
        finally:
            await bot.session.close()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (401, TokenRevoked),
        (403, RecipientGone),
        (409, RetryLater),
        (429, RetryLater),
        (500, RetryLater),
        (502, RetryLater),
        (503, RetryLater),
        (418, RetryLater),  # a status no one expects: retried on the backoff
    ],
)
async def test_each_bot_api_error_has_one_outcome(status: int, outcome: type[DeliveryError]) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_user(4101)
        bot = make_bot(TOKEN, api.base_url)
        try:
            for kind, method in (("message", "sendMessage"), ("erase", "deleteMessages")):
                api.fail_next(method, status=status, retry_after=3)
                with pytest.raises(DeliveryError) as raised:
                    await TelegramSender(bot).deliver("4101", OutItem(kind=kind, text="hello", refs=["1"]))
                assert type(raised.value) is outcome
                if status == 429:
                    assert raised.value.after == 3.0  # type: ignore[attr-defined]
                elif outcome is RetryLater:
                    assert raised.value.after is None  # type: ignore[attr-defined]  # the outbox's backoff
        finally:
            await bot.session.close()


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (400, "Bad Request: CHAT_RESTRICTED"),
        (404, "Not Found"),
        (413, "Request Entity Too Large"),
    ],
)
async def test_a_refused_message_is_set_aside_reported_and_replayable_and_the_queue_moves_on(
    settings: Settings,
    recipient: RecipientPrivateKey,
    caplog: pytest.LogCaptureFixture,
    status: int,
    description: str,
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        catalogs = running.core.content.catalogs
        welcome = catalogs.render("en", Msg("intake.welcome"))
        safety = catalogs.render("en", Msg("intake.safety.ask"))
        victim = Victim(api, user_id=4110, language_code="en")
        victim.write("/start")
        language = await victim.question()
        api.fail_next("sendMessage", status=status, description=description)  # the welcome is refused
        victim.press(language, "English")

        # The question behind it is delivered all the same.
        asked = await victim.question()
        assert asked.text == safety
        assert welcome not in victim.texts()
        rows = await _rows(running, victim.user_id)
        [kept] = [row for row in rows if row.status == "refused"]
        assert kept.payload_sealed is not None and kept.kind == "message"
        assert kept.failure is not None and f"sendMessage answered {status}" in kept.failure
        await asyncio.sleep(0.5)  # retry rounds: a message set aside is not tried again
        assert [c.status for c in api.calls_of("sendMessage") if c.params.get("text") == welcome] == [status]

        # Recorded with the case; the operator gets one line, with the way out and no text.
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
            entries = await read_transcript(session, case, recipient)
        assert NOT_DELIVERED in [(e.text or "").split(" (to")[0] for e in entries if e.kind == "event"]
        refusals = [r for r in caplog.records if "set aside" in r.getMessage()]
        assert len(refusals) == 1 and refusals[0].levelno == logging.ERROR
        assert f"accueil outbox replay {kept.id}" in refusals[0].getMessage()
        assert all(record.exc_info is None for record in caplog.records)
        assert welcome[:30] not in _logs(caplog) and "Traceback" not in _logs(caplog)

        # Listed for the operator, then replayed once the cause is fixed.
        listing = await admin.outbox_list(running.core.sessions)
        assert str(kept.id) in listing and case in listing and welcome[:30] not in listing
        assert "1 message(s)" in await admin.outbox_replay(running.core.sessions, [kept.id], utcnow())
        await api.wait_for_bot_message(victim.user_id, lambda m: m.text == welcome)
        assert await admin.outbox_list(running.core.sessions) == "no message set aside"


@pytest.mark.parametrize("status", [409, 500, 503])
async def test_an_outage_is_retried_on_a_growing_backoff_then_delivered_once(settings: Settings, status: int) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        api.fail_next("sendMessage", status=status, count=2)
        victim = Victim(api, user_id=4120)
        victim.write("/start")
        await victim.question(timeout=15)
        first, second, delivered = api.calls_of("sendMessage")
        assert (first.status, second.status, delivered.status) == (status, status, 200)
        # Not every round of the retry loop (0.2 s here): 1 s, then 2 s, each with up to half off as jitter.
        assert second.at - first.at >= 0.5
        assert delivered.at - second.at >= 1.0
        # The row is marked sent just after Telegram's answer, so the victim can see the message first.
        async def marked_sent() -> bool:
            return [row.status for row in await _rows(running, victim.user_id)] == ["sent"]

        await _eventually(marked_sent, "the delivered message marked sent")
        [row] = await _rows(running, victim.user_id)
        assert (row.status, row.attempts) == ("sent", 2)


async def test_a_revoked_token_stops_the_bot_and_keeps_everything_queued(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=4130, language_code="en")
        victim.write("/start")
        language = await victim.question()
        for method in ("sendMessage", "editMessageText"):
            api.fail_next(method, status=401, description="Unauthorized", count=1000)
        victim.press(language, "English")
        await api.wait_for_call("editMessageText", lambda c: c.status == 401)

        async def stopped() -> bool:
            return any("stopping" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)

        await _eventually(stopped, "the bot did not stop")
        stopped_at = time.monotonic()
        await asyncio.sleep(1.5)  # longer than the poll's timeout: no update is fetched any more
        assert [c for c in api.calls_of("getUpdates") if c.at > stopped_at + 0.1] == []
        rows = await _rows(running, victim.user_id)
        assert [row.status for row in rows] == ["sent"] + ["pending"] * (len(rows) - 1)
        assert len(rows) >= 3 and all(row.attempts == 0 and row.payload_sealed is not None for row in rows[1:])
        assert len([c for c in api.calls if c.status == 401 and c.method != "getUpdates"]) == 1
        said = [r.getMessage() for r in caplog.records if "ACCUEIL_TELEGRAM_TOKEN" in r.getMessage()]
        assert len(said) == 1 and "@BotFather" in said[0]
        assert all(record.exc_info is None for record in caplog.records)


async def test_one_poisoned_conversation_among_many_holds_back_no_other(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        api.fail_next("sendMessage", status=502, count=1000)  # the Bot API down while six people write
        victims = [Victim(api, user_id=4140 + n) for n in range(6)]
        for victim in victims:
            victim.write("/start")

        async def all_queued() -> bool:
            async with running.core.sessions() as session:
                rows = (await session.execute(select(OutboxMessage))).scalars().all()
            return len(rows) == len(victims)

        await _eventually(all_queued, "the six conversations were not all queued")
        # One conversation's queued message is broken (it cannot be opened: an unexpected error),
        # another's chat answers 404 for good.
        poisoned = await _conversation_of(running, victims[0].user_id)
        async with running.core.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.conversation_id == poisoned).values(payload_sealed=b"broken")
            )
        api.clear_faults()
        api.fail_next("sendMessage", status=404, description="Not Found", count=1000, chat_id=victims[1].user_id)

        for victim in victims[2:]:
            await victim.question()
        tried = sum("SealError" in r.getMessage() for r in caplog.records)
        await asyncio.sleep(2.0)  # ten rounds of the retry loop
        assert sum("SealError" in r.getMessage() for r in caplog.records) - tried <= 3  # on its backoff
        broken, refused = await _rows(running, victims[0].user_id), await _rows(running, victims[1].user_id)
        assert [row.status for row in broken] == ["pending"]
        assert [row.status for row in refused] == ["refused"]
        for victim in victims[2:]:
            assert [row.status for row in await _rows(running, victim.user_id)] == ["sent"]
        assert all(record.exc_info is None for record in caplog.records)
        assert "outbox round failed" not in _logs(caplog)


async def test_the_quick_exit_deletes_one_by_one_when_the_server_lacks_delete_messages(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        api.fail_next("deleteMessages", status=404, description="Not Found", count=1000)
        victim = Victim(api, user_id=4150, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        await victim.answer("No")
        question = await victim.question()
        victim.write("someone is watching my phone")
        await api.wait_until(lambda: len(api.chat_messages(victim.user_id)) >= 7, 10)
        victim.press(question, "Exit and clear chat")
        await api.wait_until(lambda: all(m.deleted for m in api.chat_messages(victim.user_id)), 10)
        assert [c.status for c in api.calls_of("deleteMessages")] == [404]
        assert len([c for c in api.calls_of("deleteMessage") if c.ok]) >= 7


@pytest.mark.parametrize(
    ("method", "status", "advice"),
    [
        ("setMyDescription", 404, "lacks the method"),
        ("setMyCommands", 400, "published again at the next start"),
        ("setMyShortDescription", 502, "published again at the next start"),
    ],
)
async def test_a_command_menu_the_server_cannot_take_is_one_warning_naming_the_method(
    core: Core, caplog: pytest.LogCaptureFixture, method: str, status: int, advice: str
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeBotAPI(token=TOKEN) as api:
        api.fail_next(method, status=status)
        bot = make_bot(TOKEN, api.base_url)
        try:
            await publish_commands(bot, core.content.catalogs)  # carries on
        finally:
            await bot.session.close()
    [warning] = [r for r in caplog.records if r.name == "accueil.telegram"]
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    said = warning.getMessage()
    assert method in said and advice in said and "\n" not in said


def test_the_operator_lists_and_replays_set_aside_messages_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    env["ACCUEIL_DATA_DIR"] = str(tmp_path / "data")

    def accueil(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bot.app.cli", *args]
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)

    listed = accueil("outbox", "list")
    assert (listed.returncode, listed.stdout) == (0, "no message set aside\n"), listed.stderr
    missing = accueil("outbox", "replay", "42")
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().splitlines()[-1] == (
        "accueil: no message set aside with id 42; `accueil outbox list` shows them"
    )


async def test_accueil_run_against_a_server_lacking_methods_serves_everyone_and_stops_cleanly(
    settings: Settings,
) -> None:
    """As on a Bot API emulator that answers 404 to methods it lacks: nothing leaves a traceback,
    the other people are served, and SIGTERM ends with exit code 0."""
    async with FakeBotAPI(token=TOKEN) as api:
        lacking = Victim(api, user_id=4160, language_code="en")
        other = Victim(api, user_id=4161, language_code="en")
        api.fail_next("sendMessage", status=404, description="Not Found", count=1000, chat_id=lacking.user_id)
        api.fail_next("deleteMessages", status=404, description="Not Found", count=1000)
        env = {
            **os.environ,
            "ACCUEIL_TELEGRAM_TOKEN": TOKEN,
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_OFFICE_HOURS": "always",
        }
        process = await start_accueil_run(api, env)
        try:
            lacking.write("/start")
            other.write("/start")
            other.press(await other.question(timeout=60), "English")  # a process of its own: slow to start
            question = await other.question(timeout=30)
            other.press(question, "Exit and clear chat")
            await api.wait_until(lambda: all(m.deleted for m in api.chat_messages(other.user_id)), 30)
            await asyncio.sleep(1.5)  # retry rounds
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=40)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    logs = stderr.decode()
    assert process.returncode == 0, logs[-2000:]
    assert "Traceback" not in logs and "outbox round failed" not in logs
    assert logs.count("set aside as") == 1 and "accueil outbox replay" in logs
    assert lacking.texts() == []
