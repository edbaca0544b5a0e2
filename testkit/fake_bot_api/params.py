"""Parameter checks and rendering shared by the Bot API methods: chats, markup, replies, files."""

from __future__ import annotations

from typing import Any

from testkit.fake_bot_api.faults import _Faults
from testkit.fake_bot_api.internals import (
    _BLOCKED,
    _CANT_INITIATE,
    _INLINE_BUTTON_ACTIONS,
    _ApiError,
    _as_bool,
    _as_int,
    _ChatState,
    _FileRecord,
    _MarkupError,
    _now,
    _utf16_len,
)
from testkit.fake_bot_api.markup import (
    _parse_markdown_legacy,
    _parse_markdown_v2,
)
from testkit.fake_bot_api.markup_html import _parse_html
from testkit.fake_bot_api.records import (
    FakeMessage,
    JSONDict,
    UploadedFile,
)


class _Params(_Faults):
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
            _check_inline_keyboard(raw["inline_keyboard"])
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


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
    for row in rows:
        for button in row:
            _check_inline_button(button)
    if sum(len(row) for row in rows) > 100:
        raise _ApiError(400, "Bad Request: reply markup is too long")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _ApiError(400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String')
    if not any(k in button for k in _INLINE_BUTTON_ACTIONS):
        raise _ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
