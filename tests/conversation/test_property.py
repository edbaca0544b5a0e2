"""Whatever a person sends at whatever step, the bot answers, no handler fails, and the transcript opens.

Hypothesis writes scripts of arbitrary Unicode text, commands, presses on the buttons shown (old ones
too) and arbitrary button data; each script is played by a new person against the real aiogram
dispatcher, replying through the fake Bot API over HTTP. One bot serves every example, on an event
loop of the test's own (Hypothesis drives examples synchronously).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.channels.telegram.channel import Parts, TelegramChannel, TelegramOptions
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage, ParkedUpdate
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN

#: Everything a person can type, lone surrogates aside (they cannot travel in JSON).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)
LONG_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=3000, max_size=4096)
COMMANDS = st.sampled_from(["/start", "/help", "/human", "/language", "/restart", "/exit", "/nope", "/start@x y"])
ACTIONS = st.one_of(
    st.tuples(st.just("text"), TEXT),
    st.tuples(st.just("text"), LONG_TEXT),
    st.tuples(st.just("command"), COMMANDS),
    st.tuples(st.just("command"), st.builds(lambda rest: "/" + rest, TEXT)),
    st.tuples(st.just("press"), st.integers(0, 30)),  # a button of the newest question
    st.tuples(st.just("stale"), st.integers(0, 30)),  # a button of any earlier keyboard
    st.tuples(st.just("data"), st.text(max_size=64)),  # button data nobody sent
)
STAFF_GROUP = -100_734_000_001
#: Replies the bot may give in the person's chat.
REPLIES = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessages"}


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Harness:
    api: FakeBotAPI
    core: Core
    bot: Bot
    dispatcher: Dispatcher
    recipient: RecipientPrivateKey

    @classmethod
    async def start(cls, settings: Settings, recipient: RecipientPrivateKey) -> Harness:
        api = FakeBotAPI(token=TOKEN)
        await api.start()
        api.add_group(STAFF_GROUP, "Staff")
        core = await build_core(dataclasses.replace(settings, staff_chat_id=STAFF_GROUP))
        parts = Parts(core.service, core.sessions, core.keys, core.clock)
        channel = TelegramChannel(parts, TelegramOptions(TOKEN, api.base_url, staff_chat_id=STAFF_GROUP))
        return cls(api, core, channel.bot, channel.dispatcher, recipient)

    async def stop(self) -> None:
        await self.bot.session.close()
        await self.core.close()
        await self.api.stop()

    async def feed(self, update_id: int) -> None:
        raw = self.api.update(update_id)
        await self.dispatcher.feed_update(self.bot, Update.model_validate(raw, context={"bot": self.bot}))

    def replies(self, chat: int) -> int:
        return sum(1 for c in self.api.calls if c.method in REPLIES and int(c.params.get("chat_id", 0)) == chat)

    async def play(self, user: int, script: list[tuple[str, Any]]) -> None:
        api = self.api
        for kind, value in script:
            before = self.replies(user)
            keyboards = [m for m in api.chat_messages(user) if m.from_bot and not m.deleted and m.buttons]
            if kind in ("press", "stale", "data"):
                if not keyboards:
                    continue
                target = keyboards[-1] if kind != "stale" else keyboards[value % len(keyboards)]
                if kind == "data":
                    data = value
                else:
                    data = str(target.buttons[value % len(target.buttons)].get("callback_data"))
                update_id = api.user_presses(user, target.message_id, data, require_button=False)
                await self.feed(update_id)
                assert api.callback_answer(update_id) is not None, f"the press on {data!r} was not acknowledged"
                continue
            update_id = api.user_sends_text(user, value, language_code="en")
            await self.feed(update_id)
            assert self.replies(user) > before, f"no answer to {value[:80]!r}\n{api.dump_chat(user)}"
        await self.check(user)

    async def check(self, user: int) -> None:
        user_ref = self.core.keys.pseudonym("telegram", str(user))
        async with self.core.sessions() as session:
            cases = (
                (await session.execute(select(Conversation).where(Conversation.user_ref == user_ref))).scalars().all()
            )
            for case in cases:
                await read_transcript(session, case.public_id, self.recipient)  # raises if it does not open
            parked = await session.scalar(select(func.count()).select_from(ParkedUpdate))
            stuck = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.conversation_id.in_([case.id for case in cases]),
                    OutboxMessage.status == "pending",
                    OutboxMessage.attempts > 0,
                )
            )
        assert parked == 0, "a handler failed: the update was parked"
        failed = [f"{c.method} {c.status} {c.result}" for c in self.api.calls if c.status != 200]
        assert stuck == 0, f"a reply was refused by the Bot API and waits for a retry: {failed[-3:]}"


def test_any_input_at_any_step_is_answered_and_the_transcript_opens(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    loop = asyncio.new_event_loop()
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    harness = loop.run_until_complete(Harness.start(settings, recipient))
    users = itertools.count(7_340_100_000)
    try:

        @hypothesis_settings(
            max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
        )
        @given(script=st.lists(ACTIONS, min_size=1, max_size=10))
        def play(script: list[tuple[str, Any]]) -> None:
            user = next(users)
            # Most scripts begin as a person does, so that they reach the later steps.
            loop.run_until_complete(harness.play(user, [("command", "/start"), ("press", 1), *script]))
            assert errors.records == [], [r.getMessage() for r in errors.records]

        play()
    finally:
        logging.getLogger().removeHandler(errors)
        loop.run_until_complete(harness.stop())
        loop.close()
