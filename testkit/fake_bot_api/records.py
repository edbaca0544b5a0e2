"""What tests read back from the fake Bot API: recorded calls, messages, users, callback answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


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
    def said(self) -> str:
        """``text`` of a text message; AssertionError for a message without text (media, sticker, ...)."""
        if self.text is None:
            raise AssertionError(f"message {self.message_id} in chat {self.chat_id} has no text")
        return self.text

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
