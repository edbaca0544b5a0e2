"""Waiting for what the bot does: a message, a call, a callback answer, a condition, consumed updates."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from testkit.fake_bot_api.internals import (
    _Signal,
)
from testkit.fake_bot_api.queries import _Queries
from testkit.fake_bot_api.records import (
    CallbackAnswer,
    FakeMessage,
    RecordedCall,
)


class _Waiting(_Queries):
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
