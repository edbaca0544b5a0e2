"""The HTTP side of the fake Bot API: lifecycle, routing, parameter decoding, dispatch to methods."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from aiohttp import (
    ClientSession,
    web,
)

from testkit.fake_bot_api.internals import (
    _ApiError,
    _decode_form_value,
    _read_multipart,
)
from testkit.fake_bot_api.records import (
    JSONDict,
    UploadedFile,
)
from testkit.fake_bot_api.webhook import _Webhook


class _Server(_Webhook):
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

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

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
