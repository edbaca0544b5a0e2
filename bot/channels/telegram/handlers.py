"""aiogram handlers: parse the update, call the receiver, answer. Nothing else.

The `Receiver` arrives through the dispatcher's workflow data (``receiver=``),
never through a global.
"""

from __future__ import annotations

import html
import json
import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, Message, Update

from bot import engine
from bot.channels.base import Attachment, Inbound, Outcome, StaffPress, parse_button, parse_command
from bot.channels.telegram.sender import keyboard
from bot.conversation.receiver import Receiver

CHANNEL = "telegram"
log = logging.getLogger("accueil.telegram")


def _language(code: str | None) -> str | None:
    return code.split("-", 1)[0].lower() if code else None


#: The Bot API lets a bot download files up to 20 MB.
MAX_DOWNLOAD = 20 * 1024 * 1024


def _event(message: Message) -> engine.Event:
    if message.text is not None:
        return parse_command(message.text) or engine.TextIn(message.text)
    kind = message.content_type
    return engine.Media(str(getattr(kind, "value", kind)), caption=message.caption or None)


def _file(message: Message) -> tuple[str, int | None, str, str | None] | None:
    """(file id, size, a name, the MIME type) of what the person sent, when it is a file."""
    if message.photo:
        best = message.photo[-1]
        return best.file_id, best.file_size, "photo.jpg", "image/jpeg"
    for item, default in (
        (message.document, "document"),
        (message.voice, "voice.ogg"),
        (message.audio, "audio"),
        (message.video, "video.mp4"),
        (message.video_note, "video_note.mp4"),
    ):
        if item is not None:
            name = getattr(item, "file_name", None) or default
            return item.file_id, item.file_size, name, getattr(item, "mime_type", None)
    return None


def _shared(message: Message) -> Attachment | None:
    """A shared location or contact, kept as it was shared (sealed with its entry)."""
    if message.location is not None:
        place = {"latitude": message.location.latitude, "longitude": message.location.longitude}
        return Attachment(name="location.json", mime="application/json", data=json.dumps(place).encode())
    if message.contact is not None:
        contact = message.contact
        card = {"phone_number": contact.phone_number, "first_name": contact.first_name, "last_name": contact.last_name}
        return Attachment(name="contact.json", mime="application/json", data=json.dumps(card).encode())
    return None


async def _attachment(message: Message) -> Attachment | None:
    """The file itself, to be sealed into the transcript (None when too big or unavailable)."""
    shared = _shared(message)
    if shared is not None:
        return shared
    found = _file(message)
    if found is None or message.bot is None:
        return None
    file_id, size, name, mime = found
    if size is not None and size > MAX_DOWNLOAD:
        log.warning("a file over 20 MB was not downloaded (the Bot API does not serve it)")
        return None
    try:
        data = await message.bot.download(file_id)
    except (TelegramAPIError, OSError) as exc:
        log.warning("a file could not be downloaded (%s); it is recorded without its content", type(exc).__name__)
        return None
    if data is None:
        return None
    return Attachment(name=name, mime=mime, data=data.read())


async def on_message(message: Message, event_update: Update, receiver: Receiver) -> None:
    if message.from_user is None or message.from_user.is_bot:
        return
    replied = message.reply_to_message
    outcome = await receiver.receive(
        Inbound(
            channel=CHANNEL,
            user=str(message.from_user.id),
            chat=str(message.chat.id),
            event=_event(message),
            update_key=str(event_update.update_id),
            language_hint=_language(message.from_user.language_code),
            message_ref=str(message.message_id),
            reply_to=str(replied.message_id) if replied is not None else None,
            attachment=await _attachment(message),
            forwarded=message.forward_origin is not None,
        )
    )
    await _reply(message.bot, message.chat.id, outcome)


async def on_edit(message: Message, event_update: Update, receiver: Receiver) -> None:
    """An edited message: the new wording is recorded (and passed on during a case); no step is run again."""
    if message.from_user is None or message.from_user.is_bot or message.text is None:
        return
    await receiver.receive(
        Inbound(
            channel=CHANNEL,
            user=str(message.from_user.id),
            chat=str(message.chat.id),
            event=engine.TextIn(message.text),
            update_key=str(event_update.update_id),
            edited=True,
        )
    )


async def on_press(query: CallbackQuery, event_update: Update, receiver: Receiver) -> None:
    data = query.data or ""
    press = parse_button(data)
    staff_press = StaffPress.parse(data) if press is None else None
    if (press is None and staff_press is None) or query.message is None:
        await _answer(query, None)
        return
    outcome = await receiver.receive(
        Inbound(
            channel=CHANNEL,
            user=str(query.from_user.id),
            chat=str(query.message.chat.id),
            event=press or engine.Press(0, ""),
            update_key=str(event_update.update_id),
            language_hint=_language(query.from_user.language_code),
            staff_press=staff_press,
        )
    )
    await _answer(query, outcome.toast)
    await _reply(query.bot, query.from_user.id, outcome)


async def on_staff_group_press(query: CallbackQuery, event_update: Update, receiver: Receiver) -> None:
    """In the staff group only staff buttons (Claim) are read. A victim's button data pressed there,
    forged or not, by staff or not, opens no conversation and posts nothing: the spinner just stops."""
    if StaffPress.parse(query.data or "") is None:
        await _answer(query, None)
        return
    await on_press(query, event_update, receiver)


async def _reply(bot: Bot | None, chat: int, outcome: Outcome) -> None:
    """A staff member's direct answer (a list of cases, say): sent now, it concerns no one case."""
    if outcome.reply is None or bot is None:
        return
    markup = keyboard([[list(button) for button in row] for row in outcome.reply_buttons])
    try:
        await bot.send_message(
            chat_id=chat,
            text=html.escape(outcome.reply, quote=False),
            parse_mode="HTML",
            reply_markup=markup,
            protect_content=True,
        )
    except TelegramAPIError as exc:
        log.warning("a reply to a staff member could not be sent: %s", type(exc).__name__)


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Stop the button's spinner. A query answered before (a re-delivered update) is fine."""
    try:
        await query.answer(text=text)
    except TelegramBadRequest:
        log.info("callback query already answered or expired")
    except TelegramAPIError as exc:  # Telegram briefly failing: the spinner stops by itself
        log.warning("a button press could not be acknowledged (%s)", type(exc).__name__)


async def on_other_chat(message: Message) -> None:
    """Groups and channels: the bot does not talk there (the staff group comes later)."""
    log.info("message outside a private chat ignored", extra={"chat_type": str(message.chat.type)})


async def on_other_press(query: CallbackQuery) -> None:
    await _answer(query, None)


def build_routers(staff_chat_id: int | None = None) -> list[Router]:
    """Fresh routers for one dispatcher (a router belongs to one dispatcher only)."""
    victims = Router(name="victims")
    victims.message.filter(F.chat.type == ChatType.PRIVATE)
    victims.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    victims.message.register(on_message)
    victims.edited_message.filter(F.chat.type == ChatType.PRIVATE)
    victims.edited_message.register(on_edit)
    victims.callback_query.register(on_press)
    routers = [victims]
    if staff_chat_id is not None:
        # The staff group: only presses on its buttons (Claim) are taken; what is said there is not read.
        staff_group = Router(name="staff_group")
        staff_group.callback_query.filter(F.message.chat.id == staff_chat_id)
        staff_group.callback_query.register(on_staff_group_press)
        routers.append(staff_group)
    others = Router(name="others")
    others.message.register(on_other_chat)
    others.callback_query.register(on_other_press)
    return [*routers, others]
