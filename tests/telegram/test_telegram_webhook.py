"""Webhook mode: the real aiohttp webhook server, fed by the fake Bot API's webhook deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiogram import Bot, Dispatcher
from sqlalchemy import func, select

from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.channels.telegram.channel import Parts, TelegramChannel, TelegramOptions
from bot.channels.telegram.runner import serve_webhook
from storage.models import Conversation, OutboxMessage, ProcessedUpdate
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim

SECRET = "webhook-Secret_0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Webhook:
    core: Core
    bot: Bot
    dispatcher: Dispatcher
    url: str


@contextlib.asynccontextmanager
async def serving_webhook(api: FakeBotAPI, settings: Settings) -> AsyncIterator[Webhook]:
    """The real bot serving its webhook on loopback (as `accueil run --webhook-url` does), until the block ends."""
    core = await build_core(settings)
    parts = Parts(core.service, core.sessions, core.keys, core.clock)
    channel = TelegramChannel(parts, TelegramOptions(TOKEN, api.base_url))
    stop = asyncio.Event()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    try:
        bot, dispatcher = channel.bot, channel.dispatcher
        server = asyncio.create_task(
            serve_webhook(bot, dispatcher, url=url, secret=SECRET, host="127.0.0.1", port=port, stop=stop)
        )
        try:
            await api.wait_for_call("setWebhook", timeout=10)
            yield Webhook(core, bot, dispatcher, url)
        finally:
            stop.set()
            await asyncio.wait_for(server, timeout=10)
    finally:
        await channel.close()
        await core.close()


def _raw_start(user_id: int, update_id: int) -> dict[str, object]:
    """A well-formed `/start` update from a private chat, as Telegram would POST it."""
    person = {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Test"},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def _rows(core: Core) -> tuple[int, int, int]:
    async with core.sessions() as session:
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
        processed = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(conversations or 0), int(processed or 0), int(queued or 0)


async def test_the_webhook_is_registered_with_the_secret_and_serves_a_victim(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, serving_webhook(api, settings) as hook:
        [registration] = api.calls_of("setWebhook")
        assert registration.ok
        assert registration.params["url"] == hook.url
        assert registration.params["secret_token"] == SECRET
        assert registration.params["allowed_updates"] == hook.dispatcher.resolve_used_update_types()
        assert (api.webhook_url, api.webhook_secret) == (hook.url, SECRET)

        victim = Victim(api, user_id=3001, language_code="en")
        start = victim.write("/start")
        language = await victim.question()
        assert language.text == "Choisissez votre langue.\nChoose your language."
        assert language.button_texts[:2] == ["Français", "English"]
        press = victim.press(language, "English")
        safety = await victim.question()
        assert safety.text == "Are you in danger right now?"
        await api.wait_updates_consumed(5)

        # Both updates came through the webhook, each POSTed once and accepted; nobody polled.
        assert [(d.update_id, d.status) for d in api.webhook_deliveries] == [(start, 200), (press, 200)]
        assert api.calls_of("getUpdates") == []
        assert (await api.wait_for_callback_answer(press)).text is None
        assert await _rows(hook.core) == (1, 2, 4)  # language question, its close, welcome, safety question


async def test_requests_without_the_right_secret_are_refused_and_have_no_effect(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, serving_webhook(api, settings) as hook:
        stranger = 3002
        api.add_user(stranger, language_code="en")  # the bot could write to them, were the update accepted
        async with aiohttp.ClientSession() as client:
            for number, headers in enumerate(
                ({}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: SECRET[:-1]}, {SECRET_HEADER: ""}),
                start=1,
            ):
                async with client.post(hook.url, json=_raw_start(stranger, 900 + number), headers=headers) as resp:
                    assert resp.status == 401, headers
                    assert await resp.text() == "Unauthorized"

        assert api.bot_messages(stranger) == []
        assert api.calls_of("sendMessage") == []
        assert await _rows(hook.core) == (0, 0, 0)

        # The same request with the secret is handled at once (handling is not in the background).
        async with aiohttp.ClientSession() as client:
            accepted = await client.post(hook.url, json=_raw_start(stranger, 999), headers={SECRET_HEADER: SECRET})
            accepted.release()
        assert accepted.status == 200
        question = await Victim(api, user_id=stranger).question(timeout=5)
        assert question.button_texts[:2] == ["Français", "English"]
        assert await _rows(hook.core) == (1, 1, 1)
