"""Injected faults: the next calls of a method fail with a given error, or are delayed."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from testkit.fake_bot_api.internals import (
    _ApiError,
    _Fault,
)
from testkit.fake_bot_api.records import (
    JSONDict,
    RecordedCall,
    UploadedFile,
)
from testkit.fake_bot_api.state import _State


class _Faults(_State):
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
