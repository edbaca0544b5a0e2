"""Driving the real aiogram bot against the in-process fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.app.compose import Core, build_core
from bot.app.settings import PROJECT_ROOT, Settings
from bot.channels.telegram.channel import Parts, TelegramChannel, TelegramOptions
from bot.channels.telegram.runner import publish_commands
from bot.clock import utcnow
from bot.outbox.delivery import Outbox
from testkit.accueil import accueil_argv
from testkit.fake_bot_api import FakeBotAPI, FakeMessage

TOKEN = "123456:TEST-token"  # noqa: S105 (the fake Bot API's token, not a secret)


async def start_accueil_run(api: FakeBotAPI, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    """`accueil run` as an operator starts it, in its own process, talking to the fake Bot API."""
    return await asyncio.create_subprocess_exec(
        *accueil_argv("run", "--api-base", api.base_url),
        cwd=PROJECT_ROOT,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@dataclass
class Victim:
    """A simulated person in a private chat with the bot."""

    api: FakeBotAPI
    user_id: int
    language_code: str | None = None

    async def question(self, timeout: float = 10.0) -> FakeMessage:  # noqa: ASYNC109 (public test API takes a timeout)
        """The next bot message that carries buttons."""
        return await self.api.wait_for_bot_message(self.user_id, lambda m: bool(m.inline_keyboard), timeout)

    async def message(self, timeout: float = 10.0) -> FakeMessage:  # noqa: ASYNC109 (public test API takes a timeout)
        return await self.api.wait_for_bot_message(self.user_id, None, timeout)

    def write(self, text: str) -> int:
        return self.api.user_sends_text(self.user_id, text, language_code=self.language_code)

    def press(self, question: FakeMessage, label: str) -> int:
        return self.api.user_presses(self.user_id, question.message_id, question.callback_data_for(label))

    async def answer(self, label: str) -> FakeMessage:
        """Wait for the next question, press `label` on it, return the question."""
        asked = await self.question()
        self.press(asked, label)
        return asked

    async def start(self, language: str = "English") -> FakeMessage:
        """Send /start and choose `language` on the language question; return that question."""
        self.write("/start")
        return await self.answer(language)

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.api.bot_messages(self.user_id)]


@dataclass
class RunningBot:
    core: Core
    bot: Bot
    dispatcher: Dispatcher
    #: The channel's outbox: other channels (the web chat) route their people's chats through it too.
    outbox: Outbox

    async def feed(self, raw: dict[str, object]) -> None:
        """Hand the dispatcher an update directly, as a re-delivery would."""
        await self.dispatcher.feed_update(self.bot, Update.model_validate(raw, context={"bot": self.bot}))


@contextlib.asynccontextmanager
async def running_bot(
    api: FakeBotAPI, settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[RunningBot]:
    """The real bot, polling the fake server, until the block ends."""
    core = await build_core(settings, clock=clock)
    options = TelegramOptions(
        TOKEN,
        api.base_url,
        staff_chat_id=settings.staff_chat_id,
        poll_timeout=1,
        retry_interval=0.2,
        announce_interval=0.2,
    )
    channel = TelegramChannel(Parts(core.service, core.sessions, core.keys, core.clock, core.announce), options)
    stop = asyncio.Event()
    try:
        await publish_commands(channel.bot, core.content.catalogs)
        tasks = [asyncio.create_task(channel.poll(stop)), *channel.housekeeping(stop)]
        try:
            yield RunningBot(core, channel.bot, channel.dispatcher, channel.outbox)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
    finally:
        await channel.close()
        await core.close()


@contextlib.asynccontextmanager
async def intake_in_english(
    settings: Settings, user_id: int, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[tuple[FakeBotAPI, RunningBot, Victim]]:
    """The prelude of many Telegram tests: the fake Bot API, the real bot running against it, and a
    person (Telegram language English) who sent /start and chose English."""
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings, clock=clock) as running:
        victim = Victim(api, user_id=user_id, language_code="en")
        await victim.start()
        yield api, running, victim
