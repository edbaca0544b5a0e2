"""In-process fake of the Telegram Bot API, served over real HTTP on loopback.

The fake lets tests and benchmarks drive the *real* aiogram bot (real
``aiogram.Bot`` + ``AiohttpSession``) without touching the network::

    async with FakeBotAPI(token="123:ABC") as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot("123:ABC", session=session)
        ...  # start polling the dispatcher with ``bot``
        api.user_sends_text(42, "/start")
        reply = await api.wait_for_bot_message(42)
        assert reply.text == "Bonjour !"

Behaviour follows the real Bot API where it matters for a bot's correctness:
Telegram-shaped ``{"ok": ..., "result"/"error_code"/"description"}`` bodies,
HTTP status codes that aiogram maps to its exception classes, strict parsing of
``parse_mode`` markup ("can't parse entities"), "message is not modified",
``editMessageText`` without ``reply_markup`` removing the inline keyboard,
single-answer callback queries, 409 for concurrent ``getUpdates`` or
``getUpdates`` while a webhook is set, 403 for users who blocked the bot, ...

Only ``127.0.0.1`` is ever bound, and webhook deliveries are only made to
loopback addresses (a non-loopback webhook URL is accepted but never called;
set :attr:`FakeBotAPI.webhook_redirect` to deliver to a local server instead).

Timestamps (``RecordedCall.at``, ``FakeMessage.sent_at``) use
:func:`time.monotonic`, so latencies can be computed directly in benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

from aiohttp import (
    BodyPartReader,
    ClientError,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    MultipartReader,
    web,
)
from yarl import URL

__all__ = [
    "CallbackAnswer",
    "FakeBotAPI",
    "FakeMessage",
    "FakeUser",
    "RecordedCall",
    "UploadedFile",
    "WebhookDelivery",
]

JSONDict = dict[str, Any]

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


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class UploadedFile:
    """A file part received in a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class RecordedCall:
    """One Bot API call as received by the fake.

    ``params`` are decoded (form strings that carry JSON such as ``reply_markup``
    are objects again, numbers are ints).  ``at`` is :func:`time.monotonic` at
    arrival.  ``status`` is the HTTP status answered, ``result`` the ``result``
    payload on success.  ``via`` is ``"http"`` or ``"webhook-reply"`` (a method
    returned in the body of a webhook response).
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    via: str = "http"

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(slots=True, eq=False)
class FakeMessage:
    """A message in a fake chat, sent either by a simulated user or by the bot.

    ``text``/``caption`` hold what a Telegram client would display (markup of
    ``parse_mode`` removed, see ``entities``); ``source_text`` is the string the
    bot passed.  ``reply_markup`` is the markup as sent (inline keyboards are
    updated by edits).
    """

    chat_id: int
    message_id: int
    from_bot: bool
    from_user_id: int | None
    date: int
    text: str | None = None
    caption: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    source_text: str | None = None
    reply_markup: JSONDict | None = None
    parse_mode: str | None = None
    protect_content: bool = False
    disable_notification: bool = False
    deleted: bool = False
    edit_date: int | None = None
    edit_count: int = 0
    media_type: str | None = None
    media: JSONDict = field(default_factory=dict)
    file_id: str | None = None
    reply_to_message_id: int | None = None
    update_id: int | None = None
    #: Where a forwarded message came from (Bot API ``MessageOrigin``), for user messages.
    forward_origin: JSONDict | None = None
    sent_at: float = 0.0

    @property
    def content(self) -> str | None:
        """``text`` for text messages, ``caption`` for media messages."""
        return self.text if self.text is not None else self.caption

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[JSONDict]:
        """All buttons (inline or reply keyboard), row by row, flattened."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        out: list[JSONDict] = []
        for row in rows:
            for button in row:
                out.append(button if isinstance(button, dict) else {"text": str(button)})
        return out

    @property
    def button_texts(self) -> list[str]:
        return [str(b.get("text", "")) for b in self.buttons]

    def callback_data_for(self, label: str) -> str:
        """``callback_data`` of the inline button labelled ``label``.

        Exact label first, then a unique case-insensitive substring match.
        """
        buttons = [b for b in self.buttons if "callback_data" in b]
        exact = [b for b in buttons if b.get("text") == label]
        if not exact:
            low = label.casefold()
            exact = [b for b in buttons if low in str(b.get("text", "")).casefold()]
        if len(exact) != 1:
            raise LookupError(
                f"{len(exact)} inline buttons match {label!r} in message {self.message_id} "
                f"of chat {self.chat_id}; buttons: {self.button_texts!r}"
            )
        return str(exact[0]["callback_data"])


@dataclass(slots=True)
class FakeUser:
    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked: bool = False
    started: bool = True

    def to_json(self) -> JSONDict:
        out: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name is not None:
            out["last_name"] = self.last_name
        if self.username is not None:
            out["username"] = self.username
        if self.language_code is not None:
            out["language_code"] = self.language_code
        return out


@dataclass(slots=True)
class CallbackAnswer:
    callback_query_id: str
    update_id: int | None
    user_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    at: float


@dataclass(slots=True)
class WebhookDelivery:
    """One POST of an update to the webhook; ``status`` is None on connection error."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    at: float
    duration: float


# --------------------------------------------------------------------------- internals


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


# ------------------------------------------------------------------ markup parsers

_HTML_SPECIAL_RE: Final = re.compile(r"[<&]")
_HTML_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_HTML_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_MDV2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_SPECIAL_RE: Final = re.compile(r"[_*\[\]()~`>#+\-=|{}.!\\]")
_MDV2_NAMES: Final = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
}
_MD_SPECIAL_RE: Final = re.compile(r"[*_`\[\\]")


class _TextBuilder:
    __slots__ = ("entities", "parts", "pos")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[JSONDict] = []

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.pos += _utf16_len(text)

    def entity(self, etype: str, start: int, extra: JSONDict | None = None) -> None:
        if self.pos > start:
            ent: JSONDict = {"type": etype, "offset": start, "length": self.pos - start}
            if extra:
                ent.update(extra)
            self.entities.append(ent)

    def result(self) -> tuple[str, list[JSONDict]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def _html_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _HTML_NAMED[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        try:
            return chr(code)
        except (ValueError, OverflowError):
            return m.group(0)

    return _HTML_ENTITY_RE.sub(repl, text)


def _parse_html_attrs(src: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    n = len(src)
    attrs: dict[str, str] = {}
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        if src[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        name = src[j:k].lower()
        if not name:
            raise _MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        while k < n and src[k].isspace():
            k += 1
        value = ""
        if k < n and src[k] == "=":
            k += 1
            while k < n and src[k].isspace():
                k += 1
            if k >= n:
                raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
            quote = src[k]
            if quote in "\"'":
                end = src.find(quote, k + 1)
                if end < 0:
                    raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
                value = src[k + 1 : end]
                k = end + 1
            else:
                e = k
                while e < n and not src[e].isspace() and src[e] != ">":
                    e += 1
                value = src[k:e]
                k = e
        attrs[name] = _html_unescape(value)
        j = k


def _parse_html(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: list[tuple[str, str | None, int, JSONDict]] = []
    i, n = 0, len(src)
    while i < n:
        m = _HTML_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        if src[i] == "&":
            em = _HTML_ENTITY_RE.match(src, i)
            if em is not None:
                out.add(_html_unescape(em.group(0)))
                i = em.end()
            else:
                out.add("&")
                i += 1
            continue
        begin = i
        if i + 1 < n and src[i + 1] == "/":
            end = src.find(">", i + 2)
            if end < 0:
                raise _MarkupError(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise _MarkupError(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
            open_tag, open_type, start, open_extra = stack.pop()
            if name != open_tag:
                raise _MarkupError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{open_tag}>", found "</{name}>"'
                )
            if open_type is not None:
                out.entity(open_type, start, open_extra)
            i = end + 1
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        tag = src[i + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise _MarkupError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        attrs, i = _parse_html_attrs(src, j, tag, begin)
        etype: str | None = _HTML_TAGS[tag]
        extra: JSONDict = {}
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}')
        if tag == "a":
            href = attrs.get("href", "")
            if href:
                extra["url"] = href
            else:
                etype = None
        elif tag == "blockquote" and "expandable" in attrs:
            etype = "expandable_blockquote"
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif tag == "code" and attrs.get("class", "").startswith("language-"):
            etype = "pre" if stack and stack[-1][0] == "pre" else "code"
            if etype == "pre":
                extra["language"] = attrs["class"][len("language-") :]
        stack.append((tag, etype, out.pos, extra))
    if stack:
        raise _MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _find_unescaped(src: str, i: int, token: str) -> tuple[int, str]:
    """Index of ``token`` from ``i`` skipping backslash escapes, plus unescaped content."""
    n = len(src)
    parts: list[str] = []
    while i < n:
        if src[i] == "\\" and i + 1 < n:
            parts.append(src[i + 1])
            i += 2
            continue
        if src.startswith(token, i):
            return i, "".join(parts)
        parts.append(src[i])
        i += 1
    return -1, "".join(parts)


def _parse_markdown_v2(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: list[tuple[str, int, int]] = []  # marker, utf16 start, source index
    i, n = 0, len(src)
    while i < n:
        m = _MDV2_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        c = src[i]
        if c == "\\":
            if i + 1 < n:
                out.add(src[i + 1])
                i += 2
            else:
                raise _MarkupError("Character '\\' is reserved and must be escaped with the preceding '\\'")
            continue
        if c == "`":
            if src.startswith("```", i):
                end, content = _find_unescaped(src, i + 3, "```")
                if end < 0:
                    raise _MarkupError(f"Can't find end of Pre entity at byte offset {_byte_offset(src, i)}")
                extra: JSONDict = {}
                if "\n" in content:
                    first, rest = content.split("\n", 1)
                    if first and not any(ch.isspace() for ch in first):
                        extra["language"] = first
                        content = rest
                    elif not first:
                        content = rest
                start = out.pos
                out.add(content)
                out.entity("pre", start, extra)
                i = end + 3
            else:
                end, content = _find_unescaped(src, i + 1, "`")
                if end < 0:
                    raise _MarkupError(f"Can't find end of Code entity at byte offset {_byte_offset(src, i)}")
                start = out.pos
                out.add(content)
                out.entity("code", start)
                i = end + 1
            continue
        if c in "*_~|":
            if c == "|":
                if not src.startswith("||", i):
                    raise _MarkupError("Character '|' is reserved and must be escaped with the preceding '\\'")
                marker = "||"
            elif c == "_" and src.startswith("__", i) and not (stack and stack[-1][0] == "_"):
                marker = "__"
            else:
                marker = c
            if stack and stack[-1][0] == marker:
                _, start, _src_index = stack.pop()
                out.entity(_MDV2_NAMES[marker][0], start)
            else:
                stack.append((marker, out.pos, i))
            i += len(marker)
            continue
        if c == "[":
            stack.append(("[", out.pos, i))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            _, start, _src_index = stack.pop()
            i += 1
            if i < n and src[i] == "(":
                end, url = _find_unescaped(src, i + 1, ")")
                if end < 0:
                    raise _MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
                out.entity("text_link", start, {"url": url})
                i = end + 1
            continue
        if c == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1
            continue
        raise _MarkupError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        marker, _start, src_index = stack[-1]
        raise _MarkupError(
            f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {_byte_offset(src, src_index)}"
        )
    return out.result()


def _parse_markdown_legacy(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    i, n = 0, len(src)
    types = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        m = _MD_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        c = src[i]
        err = f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
        if c == "\\":
            if i + 1 < n and src[i + 1] in "*_`[":
                out.add(src[i + 1])
                i += 2
            else:
                out.add("\\")
                i += 1
            continue
        if c == "[":
            close = src.find("]", i + 1)
            if close < 0:
                raise _MarkupError(err)
            start = out.pos
            out.add(src[i + 1 : close])
            if close + 1 < n and src[close + 1] == "(":
                end = src.find(")", close + 2)
                if end < 0:
                    raise _MarkupError(err)
                out.entity("text_link", start, {"url": src[close + 2 : end]})
                i = end + 1
            else:
                i = close + 1
            continue
        if c == "`" and src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise _MarkupError(err)
            start = out.pos
            out.add(src[i + 3 : end])
            out.entity("pre", start)
            i = end + 3
            continue
        end = src.find(c, i + 1)
        if end < 0:
            raise _MarkupError(err)
        start = out.pos
        out.add(src[i + 1 : end])
        out.entity(types[c], start)
        i = end + 1
    return out.result()


def _command_entities(text: str) -> list[JSONDict]:
    entities: list[JSONDict] = []
    for m in _COMMAND_IN_TEXT_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group(0)),
            }
        )
    return entities


# --------------------------------------------------------------------------- server


class FakeBotAPI:
    """Fake Telegram Bot API server (aiohttp) bound to 127.0.0.1 on an ephemeral port."""

    def __init__(
        self,
        token: str = "123:ABC",  # noqa: S107
        *,
        bot_username: str = "accueil_test_bot",
        bot_first_name: str = "Accueil Test",
        validate_markup: bool = True,
        auto_deliver_webhook: bool = True,
        webhook_redirect: str | None = None,
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.2,
        webhook_max_attempts: int = 3,
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id: int = int(head) if head.isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.validate_markup = validate_markup
        self.auto_deliver_webhook = auto_deliver_webhook
        self.webhook_redirect = webhook_redirect
        self.webhook_timeout = webhook_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_attempts = webhook_max_attempts

        self.calls: list[RecordedCall] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.users: dict[int, FakeUser] = {}

        self._calls_by_method: dict[str, list[RecordedCall]] = {}
        self._call_cursor: dict[str, int] = {}
        self._call_signals: dict[str, _Signal] = {}
        self._changed = _Signal()
        self._chats: dict[int, _ChatState] = {}

        self._pending: deque[JSONDict] = deque()
        self._updates: dict[int, JSONDict] = {}
        self._update_pushed_at: dict[int, float] = {}
        self._update_messages: dict[int, FakeMessage] = {}
        self._next_update_id = 1
        self._updates_signal = _Signal()
        self._poll_generation = 0

        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._callback_by_update: dict[int, str] = {}
        self._callback_counter = itertools.count(1)
        self._files: dict[str, _FileRecord] = {}
        self._files_by_path: dict[str, _FileRecord] = {}
        self._file_counter = itertools.count(1)
        self._faults: dict[str, deque[_Fault]] = {}

        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._descriptions: dict[str, str] = {}
        self._short_descriptions: dict[str, str] = {}
        self._names: dict[str, str] = {}

        self._webhook_url: str | None = None
        self._webhook_secret: str | None = None
        self._webhook_allowed_updates: list[str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_attempts: dict[int, int] = {}
        self.webhook_last_error: str | None = None
        self._webhook_last_error_date: int | None = None

        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._port: int | None = None
        self._closing = False
        self._closed_event: asyncio.Event | None = None

        self._handlers: dict[str, tuple[str, _Handler]] = {}
        for name, handler in (
            ("getMe", self._m_get_me),
            ("getUpdates", self._m_get_updates),
            ("sendMessage", self._m_send_message),
            ("editMessageText", self._m_edit_message_text),
            ("editMessageReplyMarkup", self._m_edit_message_reply_markup),
            ("editMessageCaption", self._m_edit_message_caption),
            ("answerCallbackQuery", self._m_answer_callback_query),
            ("deleteMessage", self._m_delete_message),
            ("deleteMessages", self._m_delete_messages),
            ("copyMessage", self._m_copy_message),
            ("sendPhoto", self._m_send_photo),
            ("sendDocument", self._m_send_document),
            ("sendVoice", self._m_send_voice),
            ("sendChatAction", self._m_send_chat_action),
            ("getFile", self._m_get_file),
            ("setWebhook", self._m_set_webhook),
            ("deleteWebhook", self._m_delete_webhook),
            ("getWebhookInfo", self._m_get_webhook_info),
            ("setMyCommands", self._m_set_my_commands),
            ("getMyCommands", self._m_get_my_commands),
            ("deleteMyCommands", self._m_delete_my_commands),
            ("setMyDescription", self._m_set_my_description),
            ("getMyDescription", self._m_get_my_description),
            ("setMyShortDescription", self._m_set_my_short_description),
            ("getMyShortDescription", self._m_get_my_short_description),
            ("setMyName", self._m_set_my_name),
            ("getMyName", self._m_get_my_name),
            ("close", self._m_true),
            ("logOut", self._m_true),
        ):
            self._handlers[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI already started")
        self._closing = False
        self._closed_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._client = ClientSession()
        if self._webhook_url is not None:
            self._start_webhook_worker()

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        if self._closed_event is not None:
            self._closed_event.set()
        self._updates_signal.notify()
        self._changed.notify()
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
            self._client = None
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._port = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — pass to ``TelegramAPIServer.from_base``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        try:
            params, files = await self._read_params(request)
        except _ApiError as e:
            return web.json_response(e.body(), status=e.status)
        status, body = await self._execute(request.match_info["method"], params, files)
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
        params: JSONDict = {}
        files: dict[str, UploadedFile] = {}
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    data = await request.json()
                except ValueError as e:
                    raise _ApiError(400, "Bad Request: can't parse JSON encoded request") from e
                if not isinstance(data, dict):
                    raise _ApiError(400, "Bad Request: can't parse JSON encoded request")
                params.update(data)
            elif ctype.startswith("multipart/"):
                params, files = await _read_multipart(await request.multipart())
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = _decode_form_value(key, value)
        for key, value in request.query.items():
            params.setdefault(key, _decode_form_value(key, value))
        return params, files

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        record = self._files_by_path.get(request.match_info["path"])
        if record is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=record.content, content_type="application/octet-stream")

    async def _execute(
        self,
        method: str,
        params: JSONDict,
        files: dict[str, UploadedFile],
        via: str = "http",
    ) -> tuple[int, JSONDict]:
        key = method.lower()
        entry = self._handlers.get(key)
        name = entry[0] if entry is not None else method
        at = time.monotonic()
        status = 200
        result: Any = None
        try:
            fault = self._take_fault(key, params)
            if fault is not None:
                if fault.delay > 0:
                    await self._sleep(fault.delay)
                if fault.status is not None:
                    raise self._fault_error(fault)
            if entry is None:
                raise _ApiError(404, "Not Found")
            result = await entry[1](params, files)
            body: JSONDict = {"ok": True, "result": result}
        except _ApiError as e:
            status = e.status
            body = e.body()
        self._record(RecordedCall(name, params, at, status, result, files, via))
        return status, body

    async def _sleep(self, delay: float) -> None:
        ev = self._closed_event
        if ev is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ev.wait(), delay)

    def _record(self, call: RecordedCall) -> None:
        key = call.method.lower()
        self.calls.append(call)
        self._calls_by_method.setdefault(key, []).append(call)
        signal = self._call_signals.get(key)
        if signal is not None:
            signal.notify()
        self._changed.notify()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = 429,
        retry_after: int = 1,
        description: str | None = None,
        count: int = 1,
        delay: float = 0.0,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (only those to ``chat_id``, when given).

        ``status`` 429 answers ``Too Many Requests: retry after N`` with
        ``parameters.retry_after``; any other status (400, 403, 500, 502, ...)
        answers the Telegram error shape with ``description`` (a default one per
        status otherwise).  ``delay`` seconds are slept before answering; with
        ``status=None`` the call is only delayed and then handled normally
        (timeout simulation: the effect happens even if the client gave up).
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        self._faults.setdefault(method.lower(), deque()).append(
            _Fault(status, description, retry_after, delay, count, chat_id)
        )

    def delay_next(self, method: str, delay: float, *, count: int = 1) -> None:
        """Delay the next ``count`` calls of ``method`` by ``delay`` seconds, then answer normally."""
        self.fail_next(method, status=None, delay=delay, count=count)

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, key: str, params: JSONDict) -> _Fault | None:
        queue = self._faults.get(key)
        if not queue:
            return None
        fault = queue[0]
        if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    @staticmethod
    def _fault_error(fault: _Fault) -> _ApiError:
        status = fault.status if fault.status is not None else 500
        if status == 429:
            return _ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        defaults = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        return _ApiError(status, fault.description or defaults.get(status, "Error"))

    # ------------------------------------------------------------------ users & chats

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        started: bool = True,
    ) -> FakeUser:
        """Register a user.  ``started=False``: the bot can't message them yet (403)."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = FakeUser(user_id, first_name, last_name, username, language_code, started=started)
        self.users[user_id] = user
        chat = self._chat_state(user_id)
        chat.known = True
        return user

    def add_group(self, chat_id: int, title: str, *, chat_type: str | None = None) -> None:
        """Register a group chat (negative id; ``-100...`` ids are supergroups)."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = self._chat_state(chat_id)
        chat.type = chat_type or ("supergroup" if str(chat_id).startswith("-100") else "group")
        chat.title = title
        chat.known = True

    def _chat_state(self, chat_id: int) -> _ChatState:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = _ChatState(chat_id, "private", None, False)
            else:
                chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
                chat = _ChatState(chat_id, chat_type, f"Group {chat_id}", False)
            self._chats[chat_id] = chat
        return chat

    def _ensure_user(
        self,
        user_id: int,
        first_name: str | None,
        language_code: str | None,
        username: str | None = None,
    ) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = self.add_user(
                user_id,
                first_name=first_name or "Test",
                language_code=language_code,
                username=username,
            )
        else:
            if first_name is not None:
                user.first_name = first_name
            if language_code is not None:
                user.language_code = language_code
            if username is not None:
                user.username = username
        user.started = True
        return user

    def _chat_json(self, chat_id: int) -> JSONDict:
        chat = self._chat_state(chat_id)
        if chat.type == "private":
            user = self.users.get(chat_id)
            out: JSONDict = {"id": chat_id, "type": "private"}
            out["first_name"] = user.first_name if user else "Test"
            if user is not None and user.last_name is not None:
                out["last_name"] = user.last_name
            if user is not None and user.username is not None:
                out["username"] = user.username
            return out
        return {"id": chat_id, "type": chat.type, "title": chat.title or f"Group {chat_id}"}

    def _user_json(self, user_id: int | None) -> JSONDict:
        if user_id is None:
            return self.bot_user
        user = self.users.get(user_id)
        return user.to_json() if user else FakeUser(user_id).to_json()

    def message_json(self, msg: FakeMessage, *, with_reply: bool = True) -> JSONDict:
        """The Telegram ``Message`` object for ``msg`` in its current state."""
        out: JSONDict = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self._chat_json(msg.chat_id),
            "from": self.bot_user if msg.from_bot else self._user_json(msg.from_user_id),
        }
        if msg.text is not None:
            out["text"] = msg.text
            if msg.entities:
                out["entities"] = msg.entities
        if msg.caption is not None:
            out["caption"] = msg.caption
            if msg.entities:
                out["caption_entities"] = msg.entities
        if msg.media:
            out.update(msg.media)
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.forward_origin is not None:
            out["forward_origin"] = msg.forward_origin
        if msg.reply_markup is not None and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if msg.protect_content:
            out["has_protected_content"] = True
        if with_reply and msg.reply_to_message_id is not None:
            replied = self._chat_state(msg.chat_id).by_id.get(msg.reply_to_message_id)
            if replied is not None:
                out["reply_to_message"] = self.message_json(replied, with_reply=False)
        return out

    def _add_message(self, chat: _ChatState, msg: FakeMessage) -> None:
        chat.messages.append(msg)
        chat.by_id[msg.message_id] = msg
        if msg.from_bot:
            chat.bot_sent.append(msg)
            markup = msg.reply_markup
            if markup is not None:
                if "keyboard" in markup:
                    chat.reply_keyboard = markup
                elif markup.get("remove_keyboard"):
                    chat.reply_keyboard = None
        chat.signal.notify()
        self._changed.notify()

    def _new_message(self, chat: _ChatState, *, from_bot: bool, user_id: int | None) -> FakeMessage:
        mid = chat.next_message_id
        chat.next_message_id += 1
        return FakeMessage(
            chat_id=chat.chat_id,
            message_id=mid,
            from_bot=from_bot,
            from_user_id=user_id,
            date=_now(),
            sent_at=time.monotonic(),
        )

    # ------------------------------------------------------------------ updates

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw update (``update_id`` assigned if absent); returns its update_id."""
        upd = dict(update)
        uid = upd.get("update_id")
        if uid is None:
            uid = self._next_update_id
            upd["update_id"] = uid
        elif not isinstance(uid, int) or isinstance(uid, bool) or uid < self._next_update_id:
            raise ValueError(f"update_id must be an int >= {self._next_update_id}, got {uid!r}")
        self._next_update_id = uid + 1
        self._updates[uid] = upd
        self._update_pushed_at[uid] = time.monotonic()
        self._pending.append(upd)
        self._updates_signal.notify()
        self._changed.notify()
        return uid

    def update(self, update_id: int) -> JSONDict:
        """The raw update pushed with ``update_id``."""
        return self._updates[update_id]

    def update_pushed_at(self, update_id: int) -> float:
        return self._update_pushed_at[update_id]

    def message_for_update(self, update_id: int) -> FakeMessage:
        """The user message created by a ``user_sends_*``/``user_edits`` call."""
        return self._update_messages[update_id]

    @property
    def pending_update_ids(self) -> list[int]:
        return [int(u["update_id"]) for u in self._pending]

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        *,
        first_name: str | None,
        language_code: str | None,
        reply_to: int | None = None,
        username: str | None = None,
    ) -> tuple[_ChatState, FakeMessage]:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._ensure_user(user_id, first_name, language_code, username)
        cid = user_id if chat_id is None else chat_id
        if cid > 0 and cid != user_id:
            raise ValueError(f"user {user_id} cannot write in the private chat of {cid}")
        if cid == user_id and user.blocked:
            # Writing to the bot again means the user restarted (unblocked) it.
            self.user_unblocks_bot(user_id)
        chat = self._chat_state(cid)
        chat.known = True
        if reply_to is not None and reply_to not in chat.by_id:
            raise ValueError(f"reply_to={reply_to}: no such message in chat {cid}")
        msg = self._new_message(chat, from_bot=False, user_id=user_id)
        msg.reply_to_message_id = reply_to
        return chat, msg

    def _push_user_message(self, chat: _ChatState, msg: FakeMessage) -> int:
        self._add_message(chat, msg)
        uid = self.push_update({"message": self.message_json(msg)})
        msg.update_id = uid
        self._update_messages[uid] = msg
        return uid

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
        reply_to: int | None = None,
        username: str | None = None,
        forwarded_from: str | None = None,
    ) -> int:
        """Simulate a text message; returns the update_id.

        ``forwarded_from`` makes it a message forwarded from a user of that (hidden) name.

        ``first_name`` defaults to ``"Test"`` for new users (kept for known ones).
        ``/commands`` get ``bot_command`` entities.  ``chat_id`` defaults to the
        private chat (== ``user_id``); negative ids are groups.
        """
        chat, msg = self._user_message(
            user_id,
            chat_id,
            first_name=first_name,
            language_code=language_code,
            reply_to=reply_to,
            username=username,
        )
        msg.text = text
        msg.source_text = text
        msg.entities = _command_entities(text)
        if forwarded_from is not None:
            msg.forward_origin = {"type": "hidden_user", "sender_user_name": forwarded_from, "date": msg.date}
        return self._push_user_message(chat, msg)

    def _new_file(self, folder: str, ext: str, content: bytes, prefix: str) -> _FileRecord:
        n = next(self._file_counter)
        file_id = f"{prefix}{n:06d}{secrets.token_urlsafe(12)}"
        record = _FileRecord(
            file_id=file_id,
            file_unique_id=f"AQAD{n:06d}",
            content=content,
            file_path=f"{folder}/file_{n}.{ext}",
        )
        self._files[file_id] = record
        self._files_by_path[record.file_path] = record
        return record

    def _photo_sizes(self, content: bytes, width: int, height: int) -> list[JSONDict]:
        sizes: list[JSONDict] = []
        for target in (90, 320, max(width, height)):
            scale = min(1.0, target / max(width, height, 1))
            rec = self._new_file("photos", "jpg", content, "AgACAgIAAxkBAAI")
            sizes.append(
                {
                    "file_id": rec.file_id,
                    "file_unique_id": rec.file_unique_id,
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                    "file_size": len(content),
                }
            )
        return sizes

    def user_sends_photo(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        content: bytes | None = None,
        width: int = 1280,
        height: int = 720,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"\xff\xd8\xff\xe0fake-jpeg" + secrets.token_bytes(16)
        sizes = self._photo_sizes(data, width, height)
        msg.media_type = "photo"
        msg.media = {"photo": sizes}
        msg.file_id = str(sizes[-1]["file_id"])
        msg.caption = caption
        return self._push_user_message(chat, msg)

    def user_sends_document(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        content: bytes | None = None,
        caption: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"%PDF-1.4 fake " + secrets.token_bytes(16)
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        rec = self._new_file("documents", ext, data, "BQACAgIAAxkBAAI")
        msg.media_type = "document"
        msg.media = {
            "document": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        msg.caption = caption
        return self._push_user_message(chat, msg)

    def user_sends_voice(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        duration: int = 3,
        mime_type: str = "audio/ogg",
        content: bytes | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"OggS fake-voice " + secrets.token_bytes(16)
        rec = self._new_file("voice", "oga", data, "AwACAgIAAxkBAAI")
        msg.media_type = "voice"
        msg.media = {
            "voice": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "duration": duration,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        return self._push_user_message(chat, msg)

    def user_sends_sticker(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        emoji: str = "\N{THUMBS UP SIGN}",
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = b"RIFF fake-webp " + secrets.token_bytes(16)
        rec = self._new_file("stickers", "webp", data, "CAACAgIAAxkBAAI")
        msg.media_type = "sticker"
        msg.media = {
            "sticker": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        return self._push_user_message(chat, msg)

    def user_sends_location(
        self,
        user_id: int,
        latitude: float = 48.8566,
        longitude: float = 2.3522,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        msg.media_type = "location"
        msg.media = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._push_user_message(chat, msg)

    def user_sends_contact(
        self,
        user_id: int,
        phone_number: str = "+33612345678",
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        language_code: str | None = None,
    ) -> int:
        """Share a contact; by default the user's own (``contact_user_id`` == ``user_id``)."""
        chat, msg = self._user_message(user_id, chat_id, first_name=None, language_code=language_code)
        user = self.users[user_id]
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        if last_name is not None:
            contact["last_name"] = last_name
        msg.media_type = "contact"
        msg.media = {"contact": contact}
        return self._push_user_message(chat, msg)

    def user_edits(self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None) -> int:
        """The user edits one of their text messages; pushes an ``edited_message`` update."""
        cid = user_id if chat_id is None else chat_id
        chat = self._chats.get(cid)
        msg = chat.by_id.get(message_id) if chat is not None else None
        if chat is None or msg is None or msg.deleted or msg.from_user_id != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {cid}")
        if msg.text is None:
            raise ValueError(f"message {message_id} is not a text message")
        msg.text = new_text
        msg.source_text = new_text
        msg.entities = _command_entities(new_text)
        msg.edit_date = _now()
        msg.edit_count += 1
        chat.signal.notify()
        uid = self.push_update({"edited_message": self.message_json(msg)})
        self._update_messages[uid] = msg
        return uid

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        require_button: bool = True,
    ) -> int:
        """The user presses an inline button of a bot message; pushes a ``callback_query``.

        With ``require_button`` (default) the message must be a visible bot message
        whose *current* inline keyboard has a button with this ``callback_data``.
        Otherwise any data is sent (and an unknown message is sent as inaccessible).
        """
        cid = user_id if chat_id is None else chat_id
        chat = self._chats.get(cid)
        msg = chat.by_id.get(message_id) if chat is not None else None
        if msg is None or msg.deleted or not msg.from_bot:
            if require_button:
                raise ValueError(f"no visible bot message {message_id} in chat {cid}\n{self.dump_chat(cid)}")
            message_json: JSONDict = {"message_id": message_id, "date": 0, "chat": self._chat_json(cid)}
        else:
            if require_button and data not in {b.get("callback_data") for row in msg.inline_keyboard for b in row}:
                raise ValueError(
                    f"message {message_id} in chat {cid} has no button with callback_data "
                    f"{data!r}; buttons: {[b.get('callback_data') for b in msg.buttons]!r}"
                )
            message_json = self.message_json(msg)
        user = self._ensure_user(user_id, None, None)
        query_id = str(4_000_000_000_000_000 + next(self._callback_counter))
        self._callback_queries[query_id] = _CallbackQuery(query_id, user_id, cid, message_id)
        uid = self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_json(),
                    "chat_instance": str(-(abs(cid) * 31 + 7)),
                    "message": message_json,
                    "data": data,
                }
            }
        )
        self._callback_queries[query_id].update_id = uid
        self._callback_by_update[uid] = query_id
        return uid

    def callback_query_id(self, update_id: int) -> str:
        """The callback query id created by the ``user_presses`` call that returned ``update_id``."""
        return self._callback_by_update[update_id]

    def callback_answer(self, update_id: int) -> CallbackAnswer | None:
        """The bot's answer to the callback query of ``update_id`` (None if not answered yet)."""
        qid = self._callback_by_update.get(update_id)
        for answer in reversed(self.callback_answers):
            if answer.callback_query_id == qid:
                return answer
        return None

    def user_blocks_bot(self, user_id: int, *, emit_update: bool = True) -> int | None:
        """Afterwards every call targeting the private chat answers 403. Returns the
        update_id of the ``my_chat_member`` update (None with ``emit_update=False``)."""
        user = self._ensure_user(user_id, None, None)
        user.blocked = True
        self._changed.notify()
        if not emit_update:
            return None
        return self._push_member_update(user_id, "member", "kicked")

    def user_unblocks_bot(self, user_id: int, *, emit_update: bool = True) -> int | None:
        user = self._ensure_user(user_id, None, None)
        if not user.blocked:
            return None
        user.blocked = False
        self._changed.notify()
        if not emit_update:
            return None
        return self._push_member_update(user_id, "kicked", "member")

    def _push_member_update(self, user_id: int, old: str, new: str) -> int:
        def member(status: str) -> JSONDict:
            out: JSONDict = {"status": status, "user": self.bot_user}
            if status == "kicked":
                out["until_date"] = 0
            return out

        return self.push_update(
            {
                "my_chat_member": {
                    "chat": self._chat_json(user_id),
                    "from": self._user_json(user_id),
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # ------------------------------------------------------------------ inspection

    def chat_messages(self, chat_id: int) -> list[FakeMessage]:
        """All messages of the chat (user and bot, deleted ones included), in order."""
        chat = self._chats.get(chat_id)
        return list(chat.messages) if chat is not None else []

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        """Visible (non-deleted) messages sent by the bot in the chat, in order."""
        chat = self._chats.get(chat_id)
        return [m for m in chat.bot_sent if not m.deleted] if chat is not None else []

    def last_bot_message(self, chat_id: int) -> FakeMessage | None:
        chat = self._chats.get(chat_id)
        if chat is None:
            return None
        for msg in reversed(chat.bot_sent):
            if not msg.deleted:
                return msg
        return None

    def message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        chat = self._chats.get(chat_id)
        return chat.by_id.get(message_id) if chat is not None else None

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The reply keyboard currently shown in the chat (None if removed / never sent)."""
        chat = self._chats.get(chat_id)
        return chat.reply_keyboard if chat is not None else None

    def calls_of(self, method: str) -> list[RecordedCall]:
        return list(self._calls_by_method.get(method.lower(), []))

    def file_content(self, file_id: str) -> bytes:
        return self._files[file_id].content

    def my_commands(self, scope: JSONDict | None = None, language_code: str | None = None) -> list[JSONDict]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def my_description(self, language_code: str | None = None) -> str | None:
        return self._descriptions.get(language_code or "")

    def my_short_description(self, language_code: str | None = None) -> str | None:
        return self._short_descriptions.get(language_code or "")

    def dump_chat(self, chat_id: int) -> str:
        chat = self._chats.get(chat_id)
        if chat is None:
            return f"chat {chat_id}: no such chat (known chats: {sorted(self._chats)[:20]})"
        lines = [f"chat {chat_id} ({chat.type}), {len(chat.messages)} messages:"]
        for m in chat.messages:
            who = "bot " if m.from_bot else f"user {m.from_user_id}"
            flags = []
            if m.deleted:
                flags.append("DELETED")
            if m.edit_count:
                flags.append(f"edited x{m.edit_count}")
            if m.media_type:
                flags.append(m.media_type)
            body = m.content
            shown = repr(body if body is None or len(body) <= 300 else body[:300] + "...")
            line = f"  #{m.message_id} {who}: {shown}"
            if flags:
                line += f" [{', '.join(flags)}]"
            if m.reply_markup is not None:
                line += f" markup={json.dumps(m.reply_markup, ensure_ascii=False)[:300]}"
            lines.append(line)
        return "\n".join(lines)

    def dump_calls(self, last: int = 20) -> str:
        lines = [f"last {min(last, len(self.calls))} of {len(self.calls)} API calls:"]
        for call in self.calls[-last:]:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            lines.append(f"  {call.method} [{call.status}] {params[:300]}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ waiting

    def mark_seen(self, chat_id: int) -> None:
        """Move the chat's waiter cursor past every bot message sent so far."""
        chat = self._chat_state(chat_id)
        chat.cursor = len(chat.bot_sent)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (public test API takes a timeout)
    ) -> FakeMessage:
        """First bot message sent to ``chat_id`` after the one returned by the previous
        waiter on this chat (per-chat cursor) that matches ``predicate``.
        The cursor moves past the returned message."""
        chat = self._chat_state(chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pos = chat.cursor
        while True:
            ev = chat.signal.event()
            sent = chat.bot_sent
            while pos < len(sent):
                msg = sent[pos]
                pos += 1
                if predicate is None or predicate(msg):
                    chat.cursor = max(chat.cursor, pos)
                    return msg
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise AssertionError(
                    f"no new bot message{' matching predicate' if predicate else ''} in chat "
                    f"{chat_id} within {timeout}s (cursor was at bot message index "
                    f"{chat.cursor}/{len(sent)})\n{self.dump_chat(chat_id)}\n{self.dump_calls(10)}"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (public test API takes a timeout)
    ) -> RecordedCall:
        """First call of ``method`` (case-insensitive) after the one returned by the
        previous ``wait_for_call`` for that method (per-method cursor) matching
        ``predicate``.  Calls are recorded once answered, so state is up to date."""
        key = method.lower()
        calls = self._calls_by_method.setdefault(key, [])
        signal = self._call_signals.setdefault(key, _Signal())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pos = self._call_cursor.get(key, 0)
        while True:
            ev = signal.event()
            while pos < len(calls):
                call = calls[pos]
                pos += 1
                if predicate is None or predicate(call):
                    self._call_cursor[key] = max(self._call_cursor.get(key, 0), pos)
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise AssertionError(
                    f"no new {method} call{' matching predicate' if predicate else ''} within "
                    f"{timeout}s ({len(calls)} {method} calls recorded, cursor at "
                    f"{self._call_cursor.get(key, 0)})\n{self.dump_calls()}"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    async def wait_for_callback_answer(self, update_id: int, timeout: float = 10.0) -> CallbackAnswer:  # noqa: ASYNC109 (public test API takes a timeout)
        """Wait until the callback query pushed as ``update_id`` is answered."""
        await self.wait_until(
            lambda: self.callback_answer(update_id) is not None,
            timeout,
            message=f"callback query of update {update_id} was not answered",
        )
        answer = self.callback_answer(update_id)
        assert answer is not None
        return answer

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (public test API takes a timeout)
        *,
        message: str | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        """Wait until ``condition()`` is true; re-checked on every fake-API event and
        at least every ``poll_interval`` seconds (for conditions on external state)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._changed.event()
            if condition():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{message or 'condition not met'} within {timeout}s\n{self.dump_calls()}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), min(remaining, poll_interval))

    async def wait_updates_consumed(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (public test API takes a timeout)
        """Wait until every pushed update was confirmed (getUpdates with a higher
        offset) or delivered to the webhook."""
        await self.wait_until(
            lambda: not self._pending,
            timeout,
            message=(
                "pushed updates were not all consumed "
                f"(webhook={self._webhook_url!r}, last webhook error={self.webhook_last_error!r})"
            ),
        )

    # ------------------------------------------------------------------ webhook

    @property
    def webhook_url(self) -> str | None:
        return self._webhook_url

    @property
    def webhook_secret(self) -> str | None:
        return self._webhook_secret

    @property
    def last_webhook_status(self) -> int | None:
        """HTTP status of the last webhook POST (None if none or connection error)."""
        return self.webhook_deliveries[-1].status if self.webhook_deliveries else None

    async def deliver_to_webhook(self, update_id: int, *, url: str | None = None) -> int | None:
        """POST the update ``update_id`` to the webhook now (re-delivery allowed).

        Uses ``url`` or ``webhook_redirect`` or the URL given to setWebhook (must be
        loopback).  On a 2xx answer the update leaves the pending queue.  Returns
        the HTTP status (None on connection error)."""
        target = url or self.webhook_redirect or self._webhook_url
        if target is None:
            raise RuntimeError("no webhook set (call setWebhook or pass url=)")
        if not _is_loopback(target):
            raise RuntimeError(f"refusing to deliver to non-loopback webhook {target!r}")
        update = self._updates[update_id]
        status = await self._post_update(target, update)
        if status is not None and 200 <= status < 300:
            with contextlib.suppress(ValueError):
                self._pending.remove(update)
            self._changed.notify()
        return status

    def _start_webhook_worker(self) -> None:
        self._updates_signal.notify()
        if (
            self._runner is not None
            and self.auto_deliver_webhook
            and (self._webhook_task is None or self._webhook_task.done())
        ):
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())

    async def _webhook_worker(self) -> None:
        while not self._closing and self._webhook_url is not None:
            target = self.webhook_redirect or self._webhook_url
            ev = self._updates_signal.event()
            if not self._pending or not _is_loopback(target):
                if self._pending:
                    self.webhook_last_error = (
                        f"FakeBotAPI does not deliver to non-loopback webhook {target!r}; set webhook_redirect"
                    )
                await ev.wait()
                continue
            update = self._pending[0]
            uid = int(update["update_id"])
            status = await self._post_update(target, update)
            if self._pending and self._pending[0] is update:
                if status is not None and 200 <= status < 300:
                    self._pending.popleft()
                    self._webhook_attempts.pop(uid, None)
                    self._changed.notify()
                else:
                    attempts = self._webhook_attempts.get(uid, 0) + 1
                    self._webhook_attempts[uid] = attempts
                    if attempts >= self.webhook_max_attempts:
                        self._pending.popleft()
                        self._changed.notify()
                    else:
                        await self._sleep(self.webhook_retry_delay)

    async def _post_update(self, target: str, update: JSONDict) -> int | None:
        if self._client is None:
            raise RuntimeError("FakeBotAPI is not started")
        headers: dict[str, str] = {}
        if self._webhook_secret:
            headers[_SECRET_HEADER] = self._webhook_secret
        uid = int(update["update_id"])
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            async with self._client.post(
                target,
                json=update,
                headers=headers,
                timeout=ClientTimeout(total=self.webhook_timeout),
            ) as resp:
                status = resp.status
                if 200 <= status < 300:
                    await self._handle_webhook_reply(resp)
                else:
                    error = f"Wrong response from the webhook: {status} {resp.reason}"
        except (TimeoutError, ClientError) as e:
            error = f"Connection error: {type(e).__name__}: {e}"
        if error is not None:
            self.webhook_last_error = error
            self._webhook_last_error_date = _now()
        self.webhook_deliveries.append(WebhookDelivery(uid, target, status, error, started, time.monotonic() - started))
        self._changed.notify()
        return status

    async def _handle_webhook_reply(self, resp: ClientResponse) -> None:
        ctype = resp.headers.get("Content-Type", "")
        params: JSONDict
        files: dict[str, UploadedFile] = {}
        if ctype.startswith("multipart/"):
            params, files = await _read_multipart(MultipartReader(resp.headers, resp.content))
        elif "json" in ctype:
            raw = await resp.read()
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return
            if not isinstance(data, dict):
                return
            params = data
        else:
            return
        method = params.pop("method", None)
        if isinstance(method, str) and method:
            await self._execute(method, params, files, via="webhook-reply")

    # ------------------------------------------------------------------ param helpers

    @staticmethod
    def _int_param(params: JSONDict, key: str, missing: str | None = None) -> int:
        value = _as_int(params.get(key))
        if value is None:
            raise _ApiError(400, missing or f"Bad Request: {key} is empty")
        return value

    def _target_chat(self, params: JSONDict, key: str = "chat_id") -> _ChatState:
        raw = params.get(key)
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        cid = _as_int(raw)
        chat = self._chats.get(cid) if cid is not None else None
        if chat is None or not chat.known:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat.type == "private":
            user = self.users.get(chat.chat_id)
            if user is None:
                raise _ApiError(400, "Bad Request: chat not found")
            if user.blocked:
                raise _ApiError(403, _BLOCKED)
            if not user.started:
                raise _ApiError(403, _CANT_INITIATE)
        return chat

    def _render(
        self, text: Any, parse_mode: Any, entities: Any, *, limit: int, caption: bool
    ) -> tuple[str, list[JSONDict]]:
        src = text if isinstance(text, str) else str(text)
        if isinstance(entities, list):
            rendered, ents = src, [e for e in entities if isinstance(e, dict)]
        elif isinstance(parse_mode, str) and parse_mode and self.validate_markup:
            mode = parse_mode.lower()
            try:
                if mode == "html":
                    rendered, ents = _parse_html(src)
                elif mode == "markdownv2":
                    rendered, ents = _parse_markdown_v2(src)
                elif mode == "markdown":
                    rendered, ents = _parse_markdown_legacy(src)
                else:
                    raise _ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
            except _MarkupError as e:
                raise _ApiError(400, f"Bad Request: can't parse entities: {e}") from e
        else:
            rendered, ents = src, []
        if not caption and not rendered.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(rendered) > limit:
            raise _ApiError(
                400,
                "Bad Request: message caption is too long" if caption else "Bad Request: message is too long",
            )
        return rendered, ents

    @staticmethod
    def _validate_markup(raw: Any, *, inline_only: bool = False) -> JSONDict | None:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in raw:
            rows = raw["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
            total = 0
            for row in rows:
                for button in row:
                    total += 1
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _ApiError(
                            400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
                        )
                    if not any(k in button for k in _INLINE_BUTTON_ACTIONS):
                        raise _ApiError(
                            400,
                            "Bad Request: can't parse inline keyboard button: "
                            "Text buttons are unallowed in the inline keyboard",
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                            raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if total > 100:
                raise _ApiError(400, "Bad Request: reply markup is too long")
            return raw
        if inline_only:
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        if "keyboard" in raw:
            rows = raw["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
            return raw
        if raw.get("remove_keyboard") or raw.get("force_reply"):
            return raw
        raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _inline_markup(markup: JSONDict | None) -> JSONDict | None:
        return markup if markup is not None and "inline_keyboard" in markup else None

    def _reply_to(self, chat: _ChatState, params: JSONDict) -> int | None:
        reply_params = params.get("reply_parameters")
        allow = _as_bool(params.get("allow_sending_without_reply", False))
        mid: int | None = None
        if isinstance(reply_params, dict):
            mid = _as_int(reply_params.get("message_id"))
            allow = allow or _as_bool(reply_params.get("allow_sending_without_reply", False))
        elif params.get("reply_to_message_id") is not None:
            mid = _as_int(params.get("reply_to_message_id"))
        if mid is None:
            return None
        target = chat.by_id.get(mid)
        if target is None or target.deleted:
            if allow:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return mid

    def _bot_message(self, chat: _ChatState, params: JSONDict, markup: JSONDict | None) -> FakeMessage:
        reply_to = self._reply_to(chat, params)
        msg = self._new_message(chat, from_bot=True, user_id=None)
        msg.reply_markup = markup
        msg.reply_to_message_id = reply_to
        mode = params.get("parse_mode")
        msg.parse_mode = mode if isinstance(mode, str) and mode else None
        msg.protect_content = _as_bool(params.get("protect_content", False))
        msg.disable_notification = _as_bool(params.get("disable_notification", False))
        return msg

    def _editable(self, params: JSONDict) -> tuple[_ChatState, FakeMessage]:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: inline messages are not supported by FakeBotAPI")
        chat = self._target_chat(params)
        mid = self._int_param(params, "message_id", "Bad Request: message identifier is not specified")
        msg = chat.by_id.get(mid)
        if msg is None or msg.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not msg.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat, msg

    def _touch_edit(self, chat: _ChatState, msg: FakeMessage) -> None:
        msg.edit_date = _now()
        msg.edit_count += 1
        chat.signal.notify()
        self._changed.notify()

    def _resolve_file(
        self, value: Any, files: dict[str, UploadedFile], folder: str, ext: str, prefix: str
    ) -> tuple[_FileRecord, UploadedFile | None]:
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            if "." in upload.filename:
                ext = upload.filename.rsplit(".", 1)[-1]
            return self._new_file(folder, ext, upload.content, prefix), upload
        if isinstance(value, str) and value in self._files:
            return self._files[value], None
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._new_file(folder, ext, b"", prefix), None
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    # ------------------------------------------------------------------ methods

    async def _m_true(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return True

    async def _m_get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        out = dict(self.bot_user)
        out.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
        )
        return out

    async def _m_get_updates(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        if self._webhook_url is not None:
            raise _ApiError(409, _GETUPDATES_WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # terminates a concurrent long poll with 409
        offset = _as_int(params.get("offset"))
        limit = min(100, max(1, _as_int(params.get("limit")) or 100))
        timeout = max(0, _as_int(params.get("timeout")) or 0)
        if offset is not None:
            if offset < 0:
                while len(self._pending) > -offset:
                    self._pending.popleft()
            else:
                while self._pending and int(self._pending[0]["update_id"]) < offset:
                    self._pending.popleft()
            self._changed.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._updates_signal.event()
            if generation != self._poll_generation:
                raise _ApiError(409, _GETUPDATES_TERMINATED)
            if self._webhook_url is not None:
                raise _ApiError(409, _GETUPDATES_WEBHOOK_CONFLICT)
            remaining = deadline - loop.time()
            if self._pending or self._closing or remaining <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)
        return list(itertools.islice(self._pending, limit))

    async def _m_send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        if params.get("text") in (None, ""):
            raise _ApiError(400, "Bad Request: message text is empty")
        text, entities = self._render(
            params["text"],
            params.get("parse_mode"),
            params.get("entities"),
            limit=_MAX_TEXT,
            caption=False,
        )
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._bot_message(chat, params, markup)
        msg.text = text
        msg.entities = entities
        msg.source_text = str(params["text"])
        self._add_message(chat, msg)
        return self.message_json(msg)

    async def _m_edit_message_text(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat, msg = self._editable(params)
        if msg.text is None:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        if params.get("text") in (None, ""):
            raise _ApiError(400, "Bad Request: message text is empty")
        text, entities = self._render(
            params["text"],
            params.get("parse_mode"),
            params.get("entities"),
            limit=_MAX_TEXT,
            caption=False,
        )
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        current = self._inline_markup(msg.reply_markup)
        if text == msg.text and entities == msg.entities and markup == current:
            raise _ApiError(400, _NOT_MODIFIED)
        msg.text = text
        msg.entities = entities
        msg.source_text = str(params["text"])
        mode = params.get("parse_mode")
        msg.parse_mode = mode if isinstance(mode, str) and mode else None
        if current is not None or markup is not None:
            msg.reply_markup = markup
        self._touch_edit(chat, msg)
        return self.message_json(msg)

    async def _m_edit_message_caption(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat, msg = self._editable(params)
        if msg.media_type is None:
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        raw = params.get("caption")
        caption: str | None = None
        entities: list[JSONDict] = []
        if raw not in (None, ""):
            caption, entities = self._render(
                raw,
                params.get("parse_mode"),
                params.get("caption_entities"),
                limit=_MAX_CAPTION,
                caption=True,
            )
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        current = self._inline_markup(msg.reply_markup)
        if caption == msg.caption and entities == msg.entities and markup == current:
            raise _ApiError(400, _NOT_MODIFIED)
        msg.caption = caption
        msg.entities = entities
        msg.source_text = None if raw is None else str(raw)
        if current is not None or markup is not None:
            msg.reply_markup = markup
        self._touch_edit(chat, msg)
        return self.message_json(msg)

    async def _m_edit_message_reply_markup(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat, msg = self._editable(params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if markup == self._inline_markup(msg.reply_markup):
            raise _ApiError(400, _NOT_MODIFIED)
        msg.reply_markup = markup
        self._touch_edit(chat, msg)
        return self.message_json(msg)

    async def _m_answer_callback_query(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        qid = params.get("callback_query_id")
        query = self._callback_queries.get(str(qid)) if qid is not None else None
        if query is None or query.answered:
            raise _ApiError(400, _QUERY_TOO_OLD)
        query.answered = True
        text = params.get("text")
        url = params.get("url")
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query.query_id,
                update_id=query.update_id,
                user_id=query.user_id,
                text=text if isinstance(text, str) else None,
                show_alert=_as_bool(params.get("show_alert", False)),
                url=url if isinstance(url, str) else None,
                cache_time=_as_int(params.get("cache_time")),
                at=time.monotonic(),
            )
        )
        return True

    async def _m_delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        mid = self._int_param(params, "message_id", "Bad Request: message identifier is not specified")
        msg = chat.by_id.get(mid)
        if msg is None or msg.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        msg.deleted = True
        chat.signal.notify()
        self._changed.notify()
        return True

    async def _m_delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _ApiError(400, "Bad Request: message identifiers are not specified")
        for raw in ids:
            mid = _as_int(raw)
            msg = chat.by_id.get(mid) if mid is not None else None
            if msg is not None:
                msg.deleted = True
        chat.signal.notify()
        self._changed.notify()
        return True

    async def _m_copy_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        source_id = _as_int(params.get("from_chat_id"))
        source_chat = self._chats.get(source_id) if source_id is not None else None
        if source_chat is None or not source_chat.known:
            raise _ApiError(400, "Bad Request: chat not found")
        mid = self._int_param(params, "message_id", "Bad Request: message identifier is not specified")
        src = source_chat.by_id.get(mid)
        if src is None or src.deleted:
            raise _ApiError(400, "Bad Request: message to copy not found")
        chat = self._target_chat(params)
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._bot_message(chat, params, markup)
        msg.text = src.text
        msg.caption = src.caption
        msg.entities = list(src.entities)
        msg.source_text = src.source_text
        msg.media_type = src.media_type
        msg.media = dict(src.media)
        msg.file_id = src.file_id
        if src.media_type is not None and "caption" in params:
            raw = params.get("caption")
            if raw in (None, ""):
                msg.caption, msg.entities = None, []
            else:
                msg.caption, msg.entities = self._render(
                    raw,
                    params.get("parse_mode"),
                    params.get("caption_entities"),
                    limit=_MAX_CAPTION,
                    caption=True,
                )
                msg.source_text = str(raw)
        self._add_message(chat, msg)
        return {"message_id": msg.message_id}

    async def _send_media(
        self,
        params: JSONDict,
        files: dict[str, UploadedFile],
        *,
        kind: str,
        build: Callable[[_FileRecord, UploadedFile | None], Any],
        folder: str,
        ext: str,
        prefix: str,
    ) -> Any:
        chat = self._target_chat(params)
        if params.get(kind) in (None, ""):
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        record, upload = self._resolve_file(params[kind], files, folder, ext, prefix)
        caption: str | None = None
        entities: list[JSONDict] = []
        raw = params.get("caption")
        if raw not in (None, ""):
            caption, entities = self._render(
                raw,
                params.get("parse_mode"),
                params.get("caption_entities"),
                limit=_MAX_CAPTION,
                caption=True,
            )
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._bot_message(chat, params, markup)
        msg.caption = caption
        msg.entities = entities
        msg.source_text = None if raw is None else str(raw)
        msg.media_type = kind
        msg.media = {kind: build(record, upload)}
        msg.file_id = record.file_id
        self._add_message(chat, msg)
        return self.message_json(msg)

    async def _m_send_photo(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        def build(record: _FileRecord, upload: UploadedFile | None) -> Any:
            return [
                {
                    "file_id": record.file_id,
                    "file_unique_id": record.file_unique_id,
                    "width": 1280,
                    "height": 720,
                    "file_size": len(record.content),
                }
            ]

        return await self._send_media(
            params, files, kind="photo", build=build, folder="photos", ext="jpg", prefix="AgACAgIAAxkDAAI"
        )

    async def _m_send_document(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        def build(record: _FileRecord, upload: UploadedFile | None) -> JSONDict:
            out: JSONDict = {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "file_size": len(record.content),
            }
            if upload is not None:
                out["file_name"] = upload.filename
                out["mime_type"] = upload.content_type
            return out

        return await self._send_media(
            params, files, kind="document", build=build, folder="documents", ext="bin", prefix="BQACAgIAAxkDAAI"
        )

    async def _m_send_voice(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        duration = _as_int(params.get("duration")) or 1

        def build(record: _FileRecord, upload: UploadedFile | None) -> JSONDict:
            return {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(record.content),
            }

        return await self._send_media(
            params, files, kind="voice", build=build, folder="voice", ext="oga", prefix="AwACAgIAAxkDAAI"
        )

    async def _m_send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self._target_chat(params)
        if not params.get("action"):
            raise _ApiError(400, "Bad Request: action is empty")
        return True

    async def _m_get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        record = self._files.get(str(params.get("file_id", "")))
        if record is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": len(record.content),
            "file_path": record.file_path,
        }

    async def _m_set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        url = params.get("url")
        if url in (None, ""):
            return await self._m_delete_webhook(params, files)
        if not isinstance(url, str):
            raise _ApiError(400, "Bad Request: bad webhook: invalid URL")
        try:
            parsed = URL(url)
        except ValueError as e:
            raise _ApiError(400, "Bad Request: bad webhook: invalid URL") from e
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _ApiError(400, "Bad Request: bad webhook: invalid URL")
        if parsed.scheme != "https" and not _is_loopback(url):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret not in (None, "") and (not isinstance(secret, str) or not _SECRET_RE.match(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if _as_bool(params.get("drop_pending_updates", False)):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        self._webhook_allowed_updates = allowed if isinstance(allowed, list) else None
        self._webhook_url = url
        self._webhook_secret = secret if isinstance(secret, str) and secret else None
        self.webhook_last_error = None
        self._webhook_last_error_date = None
        self._start_webhook_worker()
        self._changed.notify()
        return True

    async def _m_delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self._webhook_url = None
        self._webhook_secret = None
        if _as_bool(params.get("drop_pending_updates", False)):
            self._pending.clear()
        self._updates_signal.notify()
        self._changed.notify()
        return True

    async def _m_get_webhook_info(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        out: JSONDict = {
            "url": self._webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_url is not None:
            out["max_connections"] = 40
            if self._webhook_allowed_updates is not None:
                out["allowed_updates"] = self._webhook_allowed_updates
            if self.webhook_last_error is not None and self._webhook_last_error_date is not None:
                out["last_error_date"] = self._webhook_last_error_date
                out["last_error_message"] = self.webhook_last_error
        return out

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope_obj = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope_obj, sort_keys=True), language_code if isinstance(language_code, str) else ""

    async def _m_set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        clean: list[JSONDict] = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand")
            name, desc = cmd.get("command"), cmd.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME_RE.match(name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty or too long")
            clean.append(dict(cmd))
        self._commands[self._commands_key(params.get("scope"), params.get("language_code"))] = clean
        return True

    async def _m_get_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return list(self._commands.get(self._commands_key(params.get("scope"), params.get("language_code")), []))

    async def _m_delete_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    @staticmethod
    def _set_text(store: dict[str, str], params: JSONDict, key: str, limit: int) -> bool:
        value = params.get(key)
        lang = params.get("language_code")
        lang_key = lang if isinstance(lang, str) else ""
        if value in (None, ""):
            store.pop(lang_key, None)
            return True
        text = str(value)
        if len(text) > limit:
            raise _ApiError(400, f"Bad Request: {key} is too long")
        store[lang_key] = text
        return True

    @staticmethod
    def _get_text(store: dict[str, str], params: JSONDict) -> str:
        lang = params.get("language_code")
        return store.get(lang if isinstance(lang, str) else "", store.get("", ""))

    async def _m_set_my_description(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return self._set_text(self._descriptions, params, "description", 512)

    async def _m_get_my_description(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return {"description": self._get_text(self._descriptions, params)}

    async def _m_set_my_short_description(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return self._set_text(self._short_descriptions, params, "short_description", 120)

    async def _m_get_my_short_description(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return {"short_description": self._get_text(self._short_descriptions, params)}

    async def _m_set_my_name(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return self._set_text(self._names, params, "name", 64)

    async def _m_get_my_name(self, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        return {"name": self._get_text(self._names, params) or self.bot_first_name}
