"""Webhook mode: setWebhook and friends, and delivering updates to the bot's webhook on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import (
    ClientError,
    ClientResponse,
    ClientTimeout,
    MultipartReader,
)
from yarl import URL

from testkit.fake_bot_api.internals import (
    _SECRET_HEADER,
    _SECRET_RE,
    _ApiError,
    _as_bool,
    _is_loopback,
    _now,
    _read_multipart,
)
from testkit.fake_bot_api.params import _Params
from testkit.fake_bot_api.records import (
    JSONDict,
    UploadedFile,
    WebhookDelivery,
)


class _Webhook(_Params):
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
