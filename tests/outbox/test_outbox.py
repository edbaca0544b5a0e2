"""Delivering the outbox through the real stack: rate limits, outages and blocked users at the Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest
from sqlalchemy import func, select

from bot.app.compose import Core
from bot.app.settings import Settings
from bot.engine import Msg
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage, ProcessedUpdate
from testkit.fake_bot_api import FakeBotAPI, RecordedCall
from testkit.telegram import TOKEN, Victim, running_bot

LANGUAGE_QUESTION = "Choisissez votre langue.\nChoose your language."


def _calls_to(api: FakeBotAPI, method: str, chat: int) -> list[RecordedCall]:
    return [call for call in api.calls_of(method) if int(call.params.get("chat_id", 0)) == chat]


def _all_calls_to(api: FakeBotAPI, chat: int) -> list[RecordedCall]:
    return [call for call in api.calls if int(call.params.get("chat_id", 0)) == chat]


async def _outbox(core: Core, nth_conversation: int = 0) -> Sequence[OutboxMessage]:
    """The outbox rows of the `nth` conversation opened, oldest first."""
    async with core.sessions() as session:
        ids = (await session.execute(select(Conversation.id).order_by(Conversation.id))).scalars().all()
        rows = await session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.conversation_id == ids[nth_conversation])
            .order_by(OutboxMessage.id)
        )
        return rows.scalars().all()


async def _processed(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        await asyncio.sleep(0.05)


# With 2 s the wait is longer than the outbox's own first backoff (1 s): only honouring retry_after passes.
@pytest.mark.parametrize("retry_after", [1, 2])
async def test_a_rate_limit_is_waited_out_then_the_message_arrives_once(settings: Settings, retry_after: int) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        api.fail_next("sendMessage", status=429, retry_after=retry_after)
        victim = Victim(api, user_id=4001)
        victim.write("/start")
        question = await victim.question()
        await asyncio.sleep(0.45)  # two rounds of the retry loop: nothing more may be sent

        limited, delivered = _calls_to(api, "sendMessage", victim.user_id)
        assert (limited.status, delivered.status) == (429, 200)
        assert delivered.at - limited.at >= retry_after
        assert question.sent_at >= limited.at + retry_after
        assert delivered.params["text"] == LANGUAGE_QUESTION
        assert victim.texts() == [LANGUAGE_QUESTION]
        [row] = await _outbox(running.core)
        assert (row.status, row.attempts, row.message_ref) == ("sent", 1, str(question.message_id))


async def test_a_bad_gateway_is_retried_and_the_message_arrives_once(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        api.fail_next("sendMessage", status=502)
        victim = Victim(api, user_id=4002)
        victim.write("/start")
        question = await victim.question()
        await asyncio.sleep(0.45)

        failed, delivered = _calls_to(api, "sendMessage", victim.user_id)
        assert (failed.status, delivered.status) == (502, 200)
        assert delivered.at > failed.at
        assert victim.texts() == [LANGUAGE_QUESTION]
        [row] = await _outbox(running.core)
        assert (row.status, row.attempts, row.message_ref) == ("sent", 1, str(question.message_id))


async def test_a_user_who_blocked_the_bot_has_the_queue_dropped_and_others_are_served(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        gone = Victim(api, user_id=4003)
        gone.write("/start")
        language = await gone.question()
        # The press is already on its way when the person blocks the bot: every reply to it gets 403.
        gone.press(language, "English")
        api.user_blocks_bot(gone.user_id, emit_update=False)
        await api.wait_until(lambda: any(c.status == 403 for c in _all_calls_to(api, gone.user_id)), 10)

        async def dropped() -> bool:
            return any(row.status == "dropped" for row in await _outbox(running.core, 0))

        await _eventually(dropped, "the blocked user's queue was not dropped")

        other = Victim(api, user_id=4004)
        other.write("/start")
        await other.answer("English")
        safety = await other.question()
        assert safety.text == "Are you in danger right now?"
        await asyncio.sleep(0.45)  # retry rounds: nothing is tried again for the blocked user

        rows = await _outbox(running.core, 0)
        assert [row.status for row in rows] == ["sent"] + ["dropped"] * (len(rows) - 1)
        assert len(rows) >= 3  # the close of the language question and what followed it
        assert all(row.payload_sealed is None for row in rows)
        assert [(c.method, c.status) for c in _all_calls_to(api, gone.user_id)] == [
            ("sendMessage", 200),
            ("editMessageText", 403),
        ]
        assert gone.texts() == [LANGUAGE_QUESTION]  # the question was never closed
        assert all(row.status == "sent" for row in await _outbox(running.core, 1))


async def test_messages_accepted_during_an_outage_are_delivered_in_order_after_it(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        catalogs = running.core.content.catalogs
        victim = Victim(api, user_id=4005, language_code="en")
        victim.write("/start")
        language = await victim.question()

        # The Bot API goes down; the victim goes on: a press, a command, then text where buttons are expected.
        api.fail_next("sendMessage", status=502, count=1000)
        api.fail_next("editMessageText", status=502, count=1000)
        victim.press(language, "English")
        victim.write("/help")
        victim.write("hello")

        async def all_applied() -> bool:
            return await _processed(running.core) == 4

        await _eventually(all_applied, "the updates were not all applied during the outage")
        await api.wait_for_call("editMessageText", lambda c: c.status == 502)
        accepted = await _outbox(running.core)
        assert [row.status for row in accepted] == ["sent"] + ["pending"] * (len(accepted) - 1)
        assert len(accepted) >= 6
        assert all(call.status == 502 for call in api.calls_of("editMessageText"))
        assert [call.status for call in api.calls_of("sendMessage")] == [200]

        api.clear_faults()  # the Bot API is back

        async def all_sent() -> bool:
            return all(row.status == "sent" for row in await _outbox(running.core))

        await _eventually(all_sent, "the outbox was not delivered after the outage")
        await asyncio.sleep(0.45)

        rows = await _outbox(running.core)
        assert [row.id for row in rows] == [row.id for row in accepted]
        messages = [row for row in rows if row.kind == "message"]
        shown = api.bot_messages(victim.user_id)
        # Delivered in the order accepted, each exactly once.
        assert [row.message_ref for row in messages] == [str(m.message_id) for m in shown]
        assert len([c for c in api.calls_of("sendMessage") if c.ok]) == len(messages)
        assert shown[0].text == f"{LANGUAGE_QUESTION}\n\n→ English"
        assert shown[0].inline_keyboard == []
        texts = victim.texts()
        welcome = catalogs.render("en", Msg("intake.welcome"))
        safety = catalogs.render("en", Msg("intake.safety.ask"))
        help_text = catalogs.render("en", Msg("common.help"))
        use_buttons = catalogs.render("en", Msg("common.use_buttons"))
        assert texts[1:3] == [welcome, safety]
        assert texts.count(help_text) == 1 and texts.count(use_buttons) == 1
        assert texts.index(safety) < texts.index(help_text) < texts.index(use_buttons)


async def test_a_person_who_blocked_the_bot_is_recorded_with_the_case(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        gone = Victim(api, user_id=4010, language_code="en")
        gone.write("/start")
        language = await gone.question()
        api.user_blocks_bot(gone.user_id, emit_update=False)
        gone.press(language, "English")

        async def dropped() -> bool:
            return any(row.status == "dropped" for row in await _outbox(running.core, 0))

        await _eventually(dropped, "the blocked user's queue was not dropped")
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
            entries = await read_transcript(session, case, recipient)
        assert [e.text for e in entries if e.kind == "event"][-1] == "the person blocked the bot: not sent"
