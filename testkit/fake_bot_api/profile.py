"""Bot API methods on the bot itself (getMe, commands, descriptions, name) and getUpdates."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from testkit.fake_bot_api.internals import (
    _COMMAND_NAME_RE,
    _GETUPDATES_TERMINATED,
    _GETUPDATES_WEBHOOK_CONFLICT,
    _ApiError,
    _as_int,
)
from testkit.fake_bot_api.params import _Params
from testkit.fake_bot_api.records import (
    JSONDict,
    UploadedFile,
)


class _Profile(_Params):
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
