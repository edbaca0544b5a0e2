"""In-process fake of the Telegram Bot API, served over real HTTP on loopback.

The fake lets tests and benchmarks drive the *real* aiogram bot (real
``aiogram.Bot`` + ``AiohttpSession``) without touching the network::

    async with FakeBotAPI(token="123:ABC") as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot("123:ABC", session=session)
        ...  # start polling the dispatcher with ``bot``
        api.user_sends_text(42, "/start")
        reply = await api.wait_for_bot_message(42)
        assert reply.text == "Bonjour !"

Behaviour follows the real Bot API where it matters for a bot's correctness:
Telegram-shaped ``{"ok": ..., "result"/"error_code"/"description"}`` bodies,
HTTP status codes that aiogram maps to its exception classes, strict parsing of
``parse_mode`` markup ("can't parse entities"), "message is not modified",
``editMessageText`` without ``reply_markup`` removing the inline keyboard,
single-answer callback queries, 409 for concurrent ``getUpdates`` or
``getUpdates`` while a webhook is set, 403 for users who blocked the bot, ...

Only ``127.0.0.1`` is ever bound, and webhook deliveries are only made to
loopback addresses (a non-loopback webhook URL is accepted but never called;
set :attr:`FakeBotAPI.webhook_redirect` to deliver to a local server instead).

Timestamps (``RecordedCall.at``, ``FakeMessage.sent_at``) use
:func:`time.monotonic`, so latencies can be computed directly in benchmarks.

The package, by concern: ``records`` (what tests read: messages, calls, users),
``state`` (chats, updates, files held by the server), ``server`` (HTTP routing and
the lifecycle), ``faults`` (injected errors and delays), ``markup`` (the HTML,
MarkdownV2 and legacy Markdown parsers), ``params`` (parameter checks shared by the
methods), the Bot API methods by family (``messages``, ``media``, ``profile``,
``webhook``), ``users`` (simulated people: they write, press, block), ``queries``
(what the bot sent, as tests inspect it) and ``waiting`` (awaiting what the bot does).
"""

from __future__ import annotations

from testkit.fake_bot_api.media import _Media
from testkit.fake_bot_api.messages import _Messages
from testkit.fake_bot_api.profile import _Profile
from testkit.fake_bot_api.records import (
    CallbackAnswer,
    FakeMessage,
    FakeUser,
    RecordedCall,
    UploadedFile,
    WebhookDelivery,
)
from testkit.fake_bot_api.server import _Server
from testkit.fake_bot_api.users import _Users
from testkit.fake_bot_api.waiting import _Waiting

__all__ = [
    "CallbackAnswer",
    "FakeBotAPI",
    "FakeMessage",
    "FakeUser",
    "RecordedCall",
    "UploadedFile",
    "WebhookDelivery",
]


class FakeBotAPI(_Server, _Messages, _Media, _Profile, _Users, _Waiting):
    """Fake Telegram Bot API server (aiohttp) bound to 127.0.0.1 on an ephemeral port."""
