"""Odd sequences and forged input on the victim's side, through the real bot and the fake Bot API.

A second quick exit opens nothing and says nothing; a victim's button data pressed
in the staff group opens no conversation there.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.app.settings import Settings, load_settings
from bot.app.staff import staff_add
from bot.engine.keyboard import EXIT_VALUE
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot

GROUP = -1009876543210
CASEWORKER, STRANGER = 9101, 9102
EXIT = "Exit and clear chat"


def _visible(api: FakeBotAPI, chat: int) -> list[str]:
    return [m.content or "" for m in api.chat_messages(chat) if not m.deleted]


async def _conversations(running: RunningBot) -> int:
    async with running.core.sessions() as session:
        return int((await session.execute(select(func.count(Conversation.id)))).scalar_one())


async def _to_the_safety_question(victim: Victim) -> None:
    victim.write("/start")
    await victim.answer("English")
    await victim.question()


async def _quiet(api: FakeBotAPI, sent_before: int) -> None:
    """Everything pushed was handled, and the bot sent nothing since `sent_before`."""
    await api.wait_updates_consumed(5)
    await asyncio.sleep(0.5)  # time for anything the bot might (wrongly) send
    assert len(api.calls_of("sendMessage")) == sent_before


async def test_pressing_exit_twice_at_once_sends_nothing_and_opens_nothing(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=4101, language_code="en")
        await _to_the_safety_question(victim)
        question = api.last_bot_message(victim.user_id)
        assert question is not None
        sent_before = len(api.calls_of("sendMessage"))
        first = victim.press(question, EXIT)
        second = victim.press(question, EXIT)  # both in one batch, before the bot erased anything
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        await _quiet(api, sent_before)
        assert _visible(api, victim.user_id) == []
        assert await _conversations(running) == 1
        answers = [await api.wait_for_callback_answer(update) for update in (first, second)]
        assert [answer.text for answer in answers] == [None, None]


async def test_an_exit_after_the_exit_in_any_form_leaves_the_chat_empty(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=4102, language_code="en")
        await _to_the_safety_question(victim)
        question = api.last_bot_message(victim.user_id)
        assert question is not None
        victim.press(question, EXIT)
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        sent_before = len(api.calls_of("sendMessage"))

        # The button's data replayed on the erased message, then the command as typed in any form.
        api.user_presses(
            victim.user_id, question.message_id, f"{question.message_id}:{EXIT_VALUE}", require_button=False
        )
        api.user_presses(victim.user_id, question.message_id, f"0:{EXIT_VALUE}", require_button=False)
        for typed in ("/exit", "/EXIT", "/exit@AccueilBot"):
            victim.write(typed)
        await _quiet(api, sent_before)
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)  # the typed /exit erased too
        assert await _conversations(running) == 1
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalar_one()
            entries = await read_transcript(session, case.public_id, recipient)
        assert (case.status, case.quick_exit) == ("ended", True)
        assert [e.text for e in entries if e.who == "system"].count("the victim used the quick exit again") == 5

        # Writing something else later starts a new conversation, as before.
        victim.write("hello")
        assert "Choose your language" in ((await victim.question()).text or "")
        assert await _conversations(running) == 2


async def test_a_victims_button_pressed_in_the_staff_group_opens_nothing_there(settings: Settings) -> None:
    configured = load_settings(
        {
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_STAFF_CHAT_ID": str(GROUP),
            "ACCUEIL_OFFICE_HOURS": "always",
        }
    )
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured) as running:
        api.add_group(GROUP, "Équipe accueil")
        await staff_add(
            running.core.sessions, running.core.keys, CASEWORKER, "Marie", "caseworker", None, datetime.now(UTC)
        )
        victim = Victim(api, user_id=4103, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        victim.write("/human")
        notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
        in_group = len(api.bot_messages(GROUP))
        sent_before = len(api.calls_of("sendMessage"))

        # A member who is not staff, then a caseworker, send a victim's button data on the notice.
        pressed = [
            api.user_presses(who, notice.message_id, data, chat_id=GROUP, require_button=False)
            for who in (STRANGER, CASEWORKER)
            for data in ("1:en", f"1:{EXIT_VALUE}", "3:__human__")
        ]
        answers = [await api.wait_for_callback_answer(update) for update in pressed]
        api.user_sends_text(STRANGER, "/start", chat_id=GROUP)  # what is said there is not read
        await _quiet(api, sent_before)
        assert [answer.text for answer in answers] == [None] * len(pressed)
        assert len(api.bot_messages(GROUP)) == in_group
        assert api.bot_messages(STRANGER) == []
        assert await _conversations(running) == 1


async def test_an_exit_as_the_very_first_message_opens_nothing(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=4104, language_code="en")
        victim.write("/exit")
        await _quiet(api, 0)
        assert await _conversations(running) == 0
