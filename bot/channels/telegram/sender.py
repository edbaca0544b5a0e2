"""Sends outbox items through the Bot API, mapping aiogram's errors to ours."""

from __future__ import annotations

import html

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.errors import DeliveryError, RecipientGone, RetryLater
from bot.outbox.delivery import OutItem

ECHO = "→ "


def keyboard(rows: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in rows]
    )


class TelegramSender:
    """Every message is escaped HTML and sent with `protect_content`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        try:
            return await self._deliver(int(chat), item)
        except TelegramRetryAfter as exc:
            raise RetryLater("Telegram rate limit", float(exc.retry_after)) from exc
        except TelegramForbiddenError as exc:
            raise RecipientGone("the user blocked the bot or left the chat") from exc
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise RetryLater(f"Bot API unavailable ({type(exc).__name__})", 2.0) from exc
        except TelegramBadRequest as exc:
            if _harmless(exc):
                return None
            raise DeliveryError(f"Bot API refused the message: {exc.message}") from exc

    async def _deliver(self, chat: int, item: OutItem) -> str | None:
        if item.kind in ("message", "notice"):
            sent = await self.bot.send_message(
                chat_id=chat,
                text=html.escape(item.text, quote=False),
                parse_mode="HTML",
                reply_markup=keyboard(item.buttons),
                protect_content=True,
                disable_notification=item.silent,
            )
            return str(sent.message_id)
        if item.kind == "copy":
            assert item.source is not None
            source_chat, source_message = item.source
            copied = await self.bot.copy_message(
                chat_id=chat,
                from_chat_id=int(source_chat),
                message_id=int(source_message),
                caption=html.escape(item.text, quote=False) if item.text else None,
                parse_mode="HTML",
                protect_content=True,
            )
            return str(copied.message_id)
        if item.kind == "retire":
            for ref in item.refs:  # the case's notices in the staff group lose their Claim button
                try:
                    await self.bot.edit_message_text(
                        chat_id=chat, message_id=int(ref), text=html.escape(item.text, quote=False), parse_mode="HTML"
                    )
                except TelegramBadRequest as exc:
                    if not _harmless(exc):
                        raise
            return None
        if item.kind == "erase":
            ids = [int(ref) for ref in item.refs]
            for start in range(0, len(ids), 100):  # the Bot API takes at most 100 a call
                try:
                    await self.bot.delete_messages(chat_id=chat, message_ids=ids[start : start + 100])
                except TelegramBadRequest as exc:
                    if "not found" not in exc.message.lower() and "can't be deleted" not in exc.message.lower():
                        raise
            return None
        assert item.target is not None
        if item.kind == "reselect":
            await self.bot.edit_message_reply_markup(
                chat_id=chat, message_id=int(item.target), reply_markup=keyboard(item.buttons)
            )
            return None
        text = item.text if not item.echo else f"{item.text}\n\n{ECHO}{item.echo}"
        await self.bot.edit_message_text(
            chat_id=chat, message_id=int(item.target), text=html.escape(text, quote=False), parse_mode="HTML"
        )
        return None


def _harmless(exc: TelegramBadRequest) -> bool:
    """Edits of a message that is gone or already as wanted need no retry."""
    text = exc.message.lower()
    return any(
        phrase in text for phrase in ("message is not modified", "message to edit not found", "message can't be edited")
    )
