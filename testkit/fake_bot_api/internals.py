"""The fake Bot API's internal records, error type, constants and small value helpers."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import (
    BodyPartReader,
    MultipartReader,
)
from yarl import URL

from testkit.fake_bot_api.records import (
    FakeMessage,
    JSONDict,
    UploadedFile,
)

_NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)


_QUERY_TOO_OLD: Final = "Bad Request: query is too old and response timeout expired or query ID is invalid"


_BLOCKED: Final = "Forbidden: bot was blocked by the user"


_CANT_INITIATE: Final = "Forbidden: bot can't initiate conversation with a user"


_GETUPDATES_WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


_GETUPDATES_TERMINATED: Final = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


_SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105


_MAX_TEXT: Final = 4096


_MAX_CAPTION: Final = 1024


# Form fields that are plain strings even when they look like JSON ("123", "true").
_STRING_FIELDS: Final = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "description",
        "short_description",
        "name",
        "language_code",
        "data",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "action",
        "emoji",
        "file_id",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "sticker",
        "animation",
        "video_note",
        "thumbnail",
        "title",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "foursquare_id",
        "question",
        "query",
        "result_id",
        "method",
    }
)


_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


_SECRET_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


_COMMAND_NAME_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")


_COMMAND_IN_TEXT_RE: Final = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


_INLINE_BUTTON_ACTIONS: Final = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        out: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


class _MarkupError(Exception):
    pass


class _Signal:
    """Broadcast wake-up: waiters grab ``event()`` then await it; ``notify`` wakes all."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def notify(self) -> None:
        ev = self._event
        if ev is not None:
            self._event = None
            ev.set()


@dataclass(slots=True)
class _Fault:
    status: int | None
    description: str | None
    retry_after: int
    delay: float
    remaining: int
    chat_id: int | None = None


@dataclass(slots=True)
class _FileRecord:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str


@dataclass(slots=True)
class _CallbackQuery:
    query_id: str
    user_id: int
    chat_id: int
    message_id: int
    update_id: int = 0
    answered: bool = False


class _ChatState:
    __slots__ = (
        "bot_sent",
        "by_id",
        "chat_id",
        "cursor",
        "known",
        "messages",
        "next_message_id",
        "reply_keyboard",
        "signal",
        "title",
        "type",
    )

    def __init__(self, chat_id: int, chat_type: str, title: str | None, known: bool) -> None:
        self.chat_id = chat_id
        self.type = chat_type
        self.title = title
        self.known = known
        self.messages: list[FakeMessage] = []
        self.by_id: dict[int, FakeMessage] = {}
        self.bot_sent: list[FakeMessage] = []
        self.cursor = 0
        self.signal = _Signal()
        self.next_message_id = 1
        self.reply_keyboard: JSONDict | None = None


_Handler = Callable[[JSONDict, dict[str, UploadedFile]], Awaitable[Any]]


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    return bool(value)


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _is_loopback(url: str) -> bool:
    try:
        host = URL(url).host
    except ValueError:
        return False
    return host is not None and host in _LOOPBACK_HOSTS


async def _read_multipart(
    reader: MultipartReader,
) -> tuple[JSONDict, dict[str, UploadedFile]]:
    params: JSONDict = {}
    files: dict[str, UploadedFile] = {}
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = await part.read(decode=False)
            files[part.name] = UploadedFile(
                field=part.name,
                filename=part.filename,
                content=bytes(data),
                content_type=part.headers.get("Content-Type", "application/octet-stream"),
            )
        else:
            params[part.name] = _decode_form_value(part.name, await part.text())
    return params, files
