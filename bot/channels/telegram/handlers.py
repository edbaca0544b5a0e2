"""aiogram handlers: parse the update, call the receiver, answer. Nothing else.

The `Receiver` arrives through the dispatcher's workflow data (``receiver=``),
never through a global.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message, Update

from bot import engine
from bot.channels.base import Receiver
from bot.conversation import Inbound, parse_button, parse_command

CHANNEL = "telegram"
log = logging.getLogger("accueil.telegram")


def _language(code: str | None) -> str | None:
    return code.split("-", 1)[0].lower() if code else None


def _event(message: Message) -> engine.Inbound:
    if message.text is not None:
        return parse_command(message.text) or engine.TextIn(message.text)
    return engine.Media(str(message.content_type))


async def on_message(message: Message, event_update: Update, receiver: Receiver) -> None:
    if message.from_user is None or message.from_user.is_bot:
        return
    await receiver.receive(
        Inbound(
            channel=CHANNEL,
            user=str(message.from_user.id),
            chat=str(message.chat.id),
            event=_event(message),
            update_key=str(event_update.update_id),
            language_hint=_language(message.from_user.language_code),
            message_ref=str(message.message_id),
        )
    )


async def on_press(query: CallbackQuery, event_update: Update, receiver: Receiver) -> None:
    press = parse_button(query.data or "")
    if press is None or query.message is None:
        await _answer(query, None)
        return
    outcome = await receiver.receive(
        Inbound(
            channel=CHANNEL,
            user=str(query.from_user.id),
            chat=str(query.message.chat.id),
            event=press,
            update_key=str(event_update.update_id),
            language_hint=_language(query.from_user.language_code),
        )
    )
    await _answer(query, outcome.toast)


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Stop the button's spinner. A query answered before (a re-delivered update) is fine."""
    try:
        await query.answer(text=text)
    except TelegramBadRequest:
        log.info("callback query already answered or expired")


async def on_other_chat(message: Message) -> None:
    """Groups and channels: the bot does not talk there (the staff group comes later)."""
    log.info("message outside a private chat ignored", extra={"chat_type": str(message.chat.type)})


async def on_other_press(query: CallbackQuery) -> None:
    await _answer(query, None)


def build_routers() -> list[Router]:
    """Fresh routers for one dispatcher (a router belongs to one dispatcher only)."""
    victims = Router(name="victims")
    victims.message.filter(F.chat.type == ChatType.PRIVATE)
    victims.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    victims.message.register(on_message)
    victims.callback_query.register(on_press)
    others = Router(name="others")
    others.message.register(on_other_chat)
    others.callback_query.register(on_other_press)
    return [victims, others]
