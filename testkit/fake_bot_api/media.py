"""Bot API methods on media and files: photos, documents, voice notes, chat actions, getFile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testkit.fake_bot_api.internals import (
    _MAX_CAPTION,
    _ApiError,
    _as_int,
    _FileRecord,
)
from testkit.fake_bot_api.params import _Params
from testkit.fake_bot_api.records import (
    JSONDict,
    UploadedFile,
)


class _Media(_Params):
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
