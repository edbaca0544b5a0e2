"""Discreet mode through the real bot: silent messages that open with a neutral line; the bot's
neutral description and command menu in every catalog language."""

from __future__ import annotations

import json

from bot.app.settings import Settings
from bot.engine import Msg
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


async def test_discreet_mode_makes_every_message_silent_and_neutral_at_first_sight(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        catalogs = running.core.content.catalogs
        victim = Victim(api, user_id=8101, language_code="en")
        victim.write("/start")
        language = await victim.question()
        pressed = victim.press(language, "🔕 Discreet mode")
        toast = await api.wait_for_callback_answer(pressed)
        assert toast.text == catalogs.render("en", Msg("common.discreet_on"))

        def shown() -> str:
            return str(api.existing_message(8101, language.message_id).reply_markup)

        await api.wait_until(lambda: "✓ 🔕 Discreet mode" in shown(), 5)
        victim.press(language, "English")
        safety = await victim.question()
        neutral = catalogs.render("en", Msg("common.discreet_prefix"))
        assert safety.said.startswith(f"{neutral}\n\n\n")
        assert safety.said.endswith(catalogs.render("en", Msg("intake.safety.ask")))
        sent = [c for c in api.calls_of("sendMessage") if c.params.get("chat_id") == 8101]
        assert sent[0].params["disable_notification"] is False  # the language question, before the choice
        assert all(c.params["disable_notification"] is True for c in sent[1:]) and len(sent) >= 3

        victim.write("/discreet")  # off again, from any step
        await api.wait_for_bot_message(8101, lambda m: m.text == catalogs.render("en", Msg("common.discreet_off")))
        again = await victim.question()
        assert again.text == catalogs.render("en", Msg("intake.safety.ask"))
        assert api.calls_of("sendMessage")[-1].params["disable_notification"] is False


async def test_the_bot_publishes_a_neutral_description_and_its_commands_in_every_language(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        catalogs = running.core.content.catalogs
        calls = api.calls_of("setMyDescription")
        descriptions = {c.params.get("language_code"): c.params["description"] for c in calls}
        commands = {c.params.get("language_code"): c.params["commands"] for c in api.calls_of("setMyCommands")}
        languages = {None if c.language == catalogs.fallback else c.language for c in catalogs}
        assert set(descriptions) == languages == set(commands)
        assert descriptions["ar"] == catalogs.render("ar", Msg("bot.description"))
        for text in descriptions.values():
            assert "victim" not in text.lower() and "victime" not in text.lower()
        assert {"start", "help", "human", "discreet", "exit"} <= {c["command"] for c in _json(commands["uk"])}


def _json(value: object) -> list[dict[str, str]]:
    loaded = json.loads(value) if isinstance(value, str) else value
    assert isinstance(loaded, list), loaded
    return loaded
