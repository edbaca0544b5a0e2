"""Running the Telegram bot: build it, poll or serve a webhook, stop cleanly.

Polling acknowledges an update to Telegram (the next `getUpdates` offset) only
after it has been applied and committed, so an update the process did not
finish is fetched again after a restart; the processed-update record makes
the second delivery harmless. Within a batch, each chat's updates are applied
in order, one at a time, and different chats concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import Response
from aiogram.types import BotCommand, Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.channels.telegram.answers import REVOKED_ADVICE, method_name, unknown_method
from bot.channels.telegram.handlers import build_routers
from bot.conversation.receiver import Receiver
from bot.engine import Msg
from bot.errors import ConfigError, StorageError, describe
from bot.language.i18n import COMMANDS, Catalogs

log = logging.getLogger("accueil.telegram")

WEBHOOK_PATH = "/telegram"


#: aiogram parses every Bot API answer with a generic `Response[T]` model, which pydantic caches
#: only weakly: once collected it is rebuilt, schema and all, for the next call (measured in
#: docs/benchmarks.md: about a fifth of a step's CPU). Holding the ones the bot uses keeps them.
_RESPONSE_MODELS: list[type] = []
_USED_METHODS = (
    methods.AnswerCallbackQuery,
    methods.CopyMessage,
    methods.DeleteMessages,
    methods.DeleteWebhook,
    methods.EditMessageReplyMarkup,
    methods.EditMessageText,
    methods.GetFile,
    methods.GetMe,
    methods.GetUpdates,
    methods.SendMessage,
    methods.SetMyCommands,
    methods.SetMyDescription,
    methods.SetMyShortDescription,
    methods.SetWebhook,
)


def _hold_response_models() -> None:
    if not _RESPONSE_MODELS:
        _RESPONSE_MODELS.extend(Response[method.__returning__] for method in _USED_METHODS)  # type: ignore[name-defined]


def make_bot(token: str, api_base: str | None) -> Bot:
    _hold_response_models()
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base)) if api_base else AiohttpSession()
    return Bot(token=token, session=session)


def make_dispatcher(receiver: Receiver, staff_chat_id: int | None = None) -> Dispatcher:
    dispatcher = Dispatcher(receiver=receiver)
    dispatcher.include_routers(*build_routers(staff_chat_id))
    return dispatcher


async def check_token(bot: Bot) -> str:
    for attempt in range(1, 5):
        try:
            me = await bot.get_me()
            break
        except TelegramUnauthorizedError as exc:
            raise ConfigError(
                "ACCUEIL_TELEGRAM_TOKEN was refused by the Bot API; copy it again from @BotFather"
            ) from exc
        except TelegramNetworkError as exc:
            raise ConfigError(f"cannot reach the Bot API at {bot.session.api.base}: {exc.message}") from exc
        except TelegramServerError as exc:  # Telegram briefly down: try again before giving up
            if attempt == 4:
                raise ConfigError(f"the Bot API keeps failing ({exc.message}); try again later") from exc
            log.warning("the Bot API failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(2.0**attempt / 4)
        except AiogramError as exc:
            raise ConfigError(
                f"the Bot API at {bot.session.api.base} answered getMe with {type(exc).__name__}; "
                "check ACCUEIL_TELEGRAM_API_BASE (--api-base)"
            ) from exc
    return me.username or str(me.id)


async def publish_commands(bot: Bot, catalogs: Catalogs) -> None:
    """The command menu and the bot's (neutral) descriptions in every catalog language (the
    fallback one for the rest)."""
    for catalog in catalogs:
        commands = [
            BotCommand(command=name, description=catalogs.render(catalog.language, Msg(f"commands.{name}")))
            for name in COMMANDS
        ]
        language = None if catalog.language == catalogs.fallback else catalog.language
        try:
            await bot.set_my_commands(commands, language_code=language)
            await bot.set_my_description(
                catalogs.render(catalog.language, Msg("bot.description"))[:512], language_code=language
            )
            await bot.set_my_short_description(
                catalogs.render(catalog.language, Msg("bot.short_description"))[:120], language_code=language
            )
        except AiogramError as exc:  # a menu is not worth not starting
            log.warning("%s", _not_published(exc))
            return


def _not_published(exc: AiogramError) -> str:
    """One line for the operator: which call failed, and what to do about it."""
    failed = f"the command menu and description were not published: {method_name(exc)} failed ({type(exc).__name__})"
    if isinstance(exc, TelegramAPIError) and unknown_method(exc):
        return f"{failed}; this Bot API server lacks the method: the bot works without them, or use one that has it"
    return f"{failed}; the bot works without them, and they are published again at the next start"


def _chat_key(update: Update) -> int:
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    if update.edited_message is not None:
        return update.edited_message.chat.id
    return 0


class Poller:
    def __init__(self, bot: Bot, dispatcher: Dispatcher, *, timeout: int = 25) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.timeout = timeout
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        if not await self._delete_webhook():
            return
        offset: int | None = None
        delay = 1.0
        allowed = self.dispatcher.resolve_used_update_types()
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                self.bot.get_updates(offset=offset, timeout=self.timeout, allowed_updates=allowed)
            )
            stopping = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if fetch not in done:
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetch
                return
            try:
                updates = fetch.result()
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramUnauthorizedError as exc:
                raise ConfigError("ACCUEIL_TELEGRAM_TOKEN was revoked; get a new one from @BotFather") from exc
            except TelegramConflictError:
                log.warning("another process is polling with this token; retrying in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except AiogramError as exc:
                log.warning("Bot API unavailable (%s); retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if updates:
                await self.apply(updates)
                offset = updates[-1].update_id + 1

    async def apply(self, updates: Sequence[Update]) -> None:
        by_chat: dict[int, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_key(update)].append(update)
        await asyncio.gather(*(self._apply_in_order(batch) for batch in by_chat.values()))

    async def _apply_in_order(self, updates: list[Update]) -> None:
        for update in updates:
            await self._apply_one(update)

    async def _apply_one(self, update: Update) -> None:
        delay = 1.0
        while True:
            try:
                await self.dispatcher.feed_update(self.bot, update)
                return
            except StorageError:
                if self._stop.is_set():  # not confirmed to Telegram: fetched again at the next start
                    log.warning("stopping with update %d not applied (database unavailable)", update.update_id)
                    return
                log.warning("database unavailable; holding update %d", update.update_id)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
            except Exception as exc:  # the type and place only: a message could quote the person
                log.error("update %d could not be handled (%s)", update.update_id, describe(exc))
                return

    async def _delete_webhook(self) -> bool:
        """Polling needs no webhook set; retried while the Bot API fails. False if stopped meanwhile."""
        delay = 1.0
        while not self._stop.is_set():
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                return True
            except TelegramUnauthorizedError as exc:
                raise ConfigError(REVOKED_ADVICE) from exc
            except TelegramAPIError as exc:
                if unknown_method(exc):  # a server without webhooks has none to delete
                    return True
                log.warning("Bot API unavailable (%s); retrying in %.0f s", type(exc).__name__, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
        return False


async def serve_webhook(
    bot: Bot, dispatcher: Dispatcher, *, url: str, secret: str, host: str, port: int, stop: asyncio.Event
) -> None:
    """Serve Telegram's webhook; requests without the secret-token header are refused."""
    app = web.Application()
    path = urlparse(url).path or WEBHOOK_PATH
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(app, path=path)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=dispatcher.resolve_used_update_types())
    except AiogramError as exc:
        await runner.cleanup()
        raise ConfigError(f"the Bot API refused setWebhook ({type(exc).__name__}); check ACCUEIL_WEBHOOK_URL") from exc
    log.info("webhook listening on %s:%d%s", host, port, path)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
