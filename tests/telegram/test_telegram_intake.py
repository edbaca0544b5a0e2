"""A victim completes the intake on Telegram: the real aiogram bot, real HTTP, a fake Bot API server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.app.settings import Settings
from bot.engine import Msg
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


async def test_a_victim_completes_the_intake_in_english(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        core = running.core
        victim = Victim(api, user_id=1001, language_code="en")
        language = await victim.start()
        assert await victim.answer("Yes") is not None  # in danger now
        danger_question = api.message(victim.user_id, (await victim.question(timeout=10)).message_id)
        texts = victim.texts()
        assert any("17" in t and "112" in t and "114" in t for t in texts), texts
        # The language question was closed: keyboard removed, answer echoed.
        closed = api.message(victim.user_id, language.message_id)
        assert closed is not None and closed.inline_keyboard == [] and closed.said.endswith("→ English")
        assert danger_question is not None
        victim.press(danger_question, "Yes")  # consent
        await victim.answer("For myself")
        await victim.answer("Forced or unpaid work")
        needs = await victim.question()
        victim.press(needs, "A safe place to sleep")

        def ticks() -> int:
            return str(api.existing_message(victim.user_id, needs.message_id).reply_markup).count("✓")

        await api.wait_until(lambda: ticks() >= 1, 5)
        victim.press(needs, "Legal help")
        await api.wait_until(lambda: ticks() == 2, 5)
        victim.press(needs, "Done")
        await victim.answer("Someone took them")
        await victim.question()  # location: typed
        victim.write("Saint-Denis (93)")
        await victim.answer("Here, in this chat")
        await victim.question()  # when to contact
        victim.write("Weekdays after 18:00")
        await victim.answer("I prefer not to answer")  # interpreter
        await victim.question()  # story
        victim.write("I worked in a restaurant kitchen for two years without pay.")
        await api.wait_until(lambda: "116 006" in " ".join(victim.texts()), 10)
        final = victim.texts()[-1]
        assert "116 006" in final and "+33 1 80 52 33 76" in final
        needs_closed = api.message(victim.user_id, needs.message_id)
        assert needs_closed is not None
        assert needs_closed.said.endswith("→ A safe place to sleep, Legal help: complaint, lawyer")
        async with core.sessions() as session:
            conversation = (await session.execute(select(Conversation))).scalar_one()
        assert (conversation.status, conversation.urgent, conversation.language) == ("handoff", True, "en")
        sent = api.calls_of("sendMessage")
        assert sent and all(call.params.get("protect_content") is True for call in sent)


async def test_a_victim_completes_the_intake_in_french_skipping_questions(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        core = running.core
        victim = Victim(api, user_id=1002, language_code="fr")
        victim.write("Bonjour")
        await victim.answer("Français")
        await victim.answer("Non")  # not in danger
        await victim.answer("Oui")  # consent
        for _ in range(4):  # writer, what happened, needs, documents
            await victim.answer("Je préfère ne pas répondre")
        for _ in range(2):  # location, contact
            await victim.answer("Je préfère ne pas répondre")
        await victim.answer("Je préfère ne pas répondre")  # when to contact
        await victim.answer("Non")  # no interpreter
        await victim.answer("Je préfère ne pas répondre")  # story
        await api.wait_until(lambda: "116 006" in " ".join(victim.texts()), 10)
        async with core.sessions() as session:
            conversation = (await session.execute(select(Conversation))).scalar_one()
        assert (conversation.status, conversation.urgent, conversation.language) == ("handoff", False, "fr")


async def test_the_same_update_delivered_twice_has_effect_once(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=1003)
        victim.write("/start")
        language = await victim.question()
        update_id = victim.press(language, "English")
        await victim.question()
        before = len(api.bot_messages(victim.user_id))
        await running.feed(api.update(update_id))  # the same update, delivered again
        await asyncio.sleep(0.3)
        assert len(api.bot_messages(victim.user_id)) == before
        assert len(api.calls_of("sendMessage")) == before


async def test_messages_of_one_chat_are_handled_in_order(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        victim = Victim(api, user_id=1004)
        victim.write("/start")
        language = await victim.question()
        # Three presses land in one getUpdates batch: only the first one counts.
        victim.press(language, "English")
        api.user_presses(
            victim.user_id, language.message_id, language.callback_data_for("Français"), require_button=False
        )
        await victim.question()
        await api.wait_updates_consumed(5)
        await asyncio.sleep(0.3)
        answers = [a.text for a in api.callback_answers]
        assert answers[-1] == "This question has already been answered."
        assert api.existing_message(victim.user_id, language.message_id).said.endswith("→ English")


async def test_groups_are_ignored_and_commands_published(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        api.add_group(-100500, "Some group")
        api.user_sends_text(1005, "/start", chat_id=-100500)
        await api.wait_updates_consumed(5)
        await asyncio.sleep(0.3)
        assert api.bot_messages(-100500) == []
        assert [c["command"] for c in api.my_commands(language_code="en")] == [
            "start",
            "language",
            "help",
            "human",
            "restart",
            "discreet",
            "exit",
        ]
        assert api.my_commands()[0]["description"] != api.my_commands(language_code="en")[0]["description"]


async def test_logs_never_hold_what_a_victim_wrote_or_their_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-log-5b1e"
    user_id = 777000111
    caplog.set_level(logging.DEBUG)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        victim = Victim(api, user_id=user_id)
        victim.write(f"/start {canary}")
        await victim.answer("English")
        await victim.question()
        victim.write(canary)  # typed where a button is expected: kept out of the logs too
        await victim.question()
        api.user_sends_text(user_id, canary)
        await victim.question()
    records = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "conversation opened" in records
    assert canary not in records
    assert str(user_id) not in records


async def test_polling_survives_a_conflict_and_a_bot_api_outage(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings):
        await api.wait_for_call("getUpdates")
        api.fail_next("getUpdates", status=409, description="Conflict: terminated by other getUpdates request")
        api.fail_next("getUpdates", status=502, description="Bad Gateway")
        victim = Victim(api, user_id=1006)
        victim.write("/start")
        language = await victim.question(timeout=15)
        assert language.button_texts[:2] == ["Français", "English"]
        failed = [c.status for c in api.calls_of("getUpdates") if c.status != 200]
        assert sorted(failed) == [409, 502]


async def test_a_victim_who_writes_in_arabic_is_offered_arabic_and_chooses(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=1007)  # no language_code from the Telegram app
        victim.write("مرحبا، أحتاج إلى مساعدة")
        language = await victim.question()
        assert language.button_texts[0] == "العربية"
        assert language.text is not None and language.text.splitlines()[1:] == [
            "Choisissez votre langue.",
            "Choose your language.",
        ]
        assert language.text.splitlines()[0] != "Choisissez votre langue."  # the Arabic line comes first
        # At the language question, text in another script proposes that language instead.
        victim.write("Здравствуйте, мне нужна помощь")
        again = await victim.question()
        assert again.button_texts[0] == "Русский"
        assert api.existing_message(victim.user_id, language.message_id).inline_keyboard == []  # old copy closed
        # The victim has the last word: they choose Arabic after all.
        victim.press(again, "العربية")
        safety = await victim.question()
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalar_one()
        assert case.language == "ar"
        assert safety.text == running.core.content.catalogs.render("ar", Msg("intake.safety.ask"))
