"""Sends outbox items through the Bot API; every aiogram error leaves as one of ours.

Texts are escaped to HTML and sent with `protect_content`. A text longer than
Telegram allows is sent in parts (`split`), the buttons on the last; the new
message's id is then every part's, space-separated, the last one first among
equals: it carries the buttons and is the one later edited. Erasing falls back
to deleting messages one by one when the Bot API server lacks `deleteMessages`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable

from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram.answers import harmless_delete, harmless_edit, outcome, unknown_method
from bot.channels.telegram.split import CAPTION_LIMIT, TEXT_LIMIT, split_html
from bot.outbox.delivery import OutItem

ECHO = "→ "

log = logging.getLogger("accueil.telegram")


def keyboard(rows: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=data) for label, data in row] for row in rows]
    )


def _escaped(text: str) -> str:
    return html.escape(text, quote=False)


class TelegramSender:
    """The outbox's `Sender` for Telegram."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.bulk_delete = True  # until the Bot API server says it lacks deleteMessages

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        try:
            return await self._deliver(int(chat), item)
        except TelegramBadRequest as exc:
            if harmless_edit(exc):
                return None
            raise outcome(exc) from exc
        except AiogramError as exc:
            raise outcome(exc) from exc

    async def _deliver(self, chat: int, item: OutItem) -> str | None:
        if item.kind in ("message", "notice"):
            return await self._send(chat, _escaped(item.text), keyboard(item.buttons), silent=item.silent)
        if item.kind == "copy":
            return await self._copy(chat, item)
        if item.kind == "retire":
            for ref in item.refs:  # the case's notices in the staff group lose their Claim button
                try:
                    await self._edit(chat, ref, split_html(_escaped(item.text))[-1])
                except TelegramBadRequest as exc:
                    if not harmless_edit(exc):
                        raise
            return None
        if item.kind == "erase":
            await self._erase(chat, [int(ref) for ref in item.refs])
            return None
        assert item.target is not None
        if item.kind == "reselect":
            await self.bot.edit_message_reply_markup(
                chat_id=chat, message_id=int(item.target), reply_markup=keyboard(item.buttons)
            )
            return None
        await self._edit(chat, item.target, _closed(item.text, item.echo))
        return None

    async def _send(self, chat: int, text: str, markup: InlineKeyboardMarkup | None, *, silent: bool = False) -> str:
        """`text` (HTML) in as many messages as it needs, the buttons on the last; their ids."""
        parts = split_html(text, TEXT_LIMIT)
        ids: list[str] = []
        for index, part in enumerate(parts, start=1):
            sent = await self.bot.send_message(
                chat_id=chat,
                text=part,
                parse_mode="HTML",
                reply_markup=markup if index == len(parts) else None,
                protect_content=True,
                disable_notification=silent or index > 1,
            )
            ids.append(str(sent.message_id))
        return " ".join(ids)

    async def _copy(self, chat: int, item: OutItem) -> str:
        """A copy of a message, with `item.text` as its caption; what does not fit follows it."""
        assert item.source is not None
        source_chat, source_message = item.source
        parts = split_html(_escaped(item.text), CAPTION_LIMIT) if item.text else []
        copied = await self.bot.copy_message(
            chat_id=chat,
            from_chat_id=int(source_chat),
            message_id=int(source_message),
            caption=parts[0] if parts else None,
            parse_mode="HTML",
            protect_content=True,
        )
        ids = [str(copied.message_id)]
        if len(parts) > 1:
            rest = _escaped(item.text)[len(parts[0]) :].lstrip()
            ids.append(await self._send(chat, rest, None, silent=True))
        return " ".join(ids)

    async def _edit(self, chat: int, ref: str, text: str) -> None:
        await self.bot.edit_message_text(chat_id=chat, message_id=int(ref), text=text, parse_mode="HTML")

    async def _erase(self, chat: int, ids: list[int]) -> None:
        """Delete `ids`, 100 a call; one by one when the server lacks `deleteMessages`."""
        if self.bulk_delete:
            try:
                for start in range(0, len(ids), 100):  # the Bot API takes at most 100 a call
                    batch = ids[start : start + 100]
                    await self._ignoring_gone(self.bot.delete_messages(chat_id=chat, message_ids=batch))
                return
            except TelegramAPIError as exc:
                if not unknown_method(exc):
                    raise
                self.bulk_delete = False
                log.warning(
                    "the Bot API server lacks deleteMessages (%s); messages are deleted one by one from now on",
                    type(exc).__name__,
                )
        for message_id in ids:
            await self._ignoring_gone(self.bot.delete_message(chat_id=chat, message_id=message_id))

    @staticmethod
    async def _ignoring_gone(call: Awaitable[bool]) -> None:
        try:
            await call
        except TelegramBadRequest as exc:
            if not harmless_delete(exc):
                raise


def _closed(text: str, echo: str) -> str:
    """A question's last part once answered: the answer echoed under it, when it fits."""
    last = split_html(_escaped(text), TEXT_LIMIT)[-1]
    if not echo:
        return last
    answered = f"{last}\n\n{ECHO}{_escaped(echo)}"
    return answered if len(split_html(answered, TEXT_LIMIT)) == 1 else last
