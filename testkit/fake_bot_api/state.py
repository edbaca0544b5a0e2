"""The state of the fake Bot API: chats, messages, pending updates, recorded calls, files."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import (
    ClientSession,
    web,
)

from testkit.fake_bot_api.internals import (
    _CallbackQuery,
    _ChatState,
    _Fault,
    _FileRecord,
    _Handler,
    _now,
    _Signal,
)
from testkit.fake_bot_api.records import (
    CallbackAnswer,
    FakeMessage,
    FakeUser,
    JSONDict,
    RecordedCall,
    WebhookDelivery,
)

_METHODS: Final = (
    ("getMe", "_m_get_me"),
    ("getUpdates", "_m_get_updates"),
    ("sendMessage", "_m_send_message"),
    ("editMessageText", "_m_edit_message_text"),
    ("editMessageReplyMarkup", "_m_edit_message_reply_markup"),
    ("editMessageCaption", "_m_edit_message_caption"),
    ("answerCallbackQuery", "_m_answer_callback_query"),
    ("deleteMessage", "_m_delete_message"),
    ("deleteMessages", "_m_delete_messages"),
    ("copyMessage", "_m_copy_message"),
    ("sendPhoto", "_m_send_photo"),
    ("sendDocument", "_m_send_document"),
    ("sendVoice", "_m_send_voice"),
    ("sendChatAction", "_m_send_chat_action"),
    ("getFile", "_m_get_file"),
    ("setWebhook", "_m_set_webhook"),
    ("deleteWebhook", "_m_delete_webhook"),
    ("getWebhookInfo", "_m_get_webhook_info"),
    ("setMyCommands", "_m_set_my_commands"),
    ("getMyCommands", "_m_get_my_commands"),
    ("deleteMyCommands", "_m_delete_my_commands"),
    ("setMyDescription", "_m_set_my_description"),
    ("getMyDescription", "_m_get_my_description"),
    ("setMyShortDescription", "_m_set_my_short_description"),
    ("getMyShortDescription", "_m_get_my_short_description"),
    ("setMyName", "_m_set_my_name"),
    ("getMyName", "_m_get_my_name"),
    ("close", "_m_true"),
    ("logOut", "_m_true"),
)


class _State:
    """What the fake holds (chats, messages, updates, calls, files, webhook), and the helpers its parts share."""

    def __init__(  # noqa: PLR0915 (one field a line)
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

        # Bot API method name -> the method of FakeBotAPI that serves it (defined by the method families).
        self._handlers: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, getattr(self, attr)) for name, attr in _METHODS
        }

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

    def _record(self, call: RecordedCall) -> None:
        key = call.method.lower()
        self.calls.append(call)
        self._calls_by_method.setdefault(key, []).append(call)
        signal = self._call_signals.get(key)
        if signal is not None:
            signal.notify()
        self._changed.notify()

    async def _sleep(self, delay: float) -> None:
        ev = self._closed_event
        if ev is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ev.wait(), delay)

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

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope_obj = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope_obj, sort_keys=True), language_code if isinstance(language_code, str) else ""

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
