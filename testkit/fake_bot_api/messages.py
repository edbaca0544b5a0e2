"""Bot API methods on messages: send, edit, delete, copy, and answering callback queries."""

from __future__ import annotations

import time
from typing import Any

from testkit.fake_bot_api.internals import (
    _MAX_CAPTION,
    _MAX_TEXT,
    _NOT_MODIFIED,
    _QUERY_TOO_OLD,
    _ApiError,
    _as_bool,
    _as_int,
)
from testkit.fake_bot_api.params import _Params
from testkit.fake_bot_api.records import (
    CallbackAnswer,
    JSONDict,
    UploadedFile,
)


class _Messages(_Params):
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
