"""Every error a Bot API call can raise, mapped to one of the outbox's outcomes.

    aiogram error                               outcome (bot.errors)      the outbox then
    TelegramRetryAfter (429)                    RetryLater(retry_after)   waits what Telegram asked
    TelegramServerError (5xx), network errors,  RetryLater()              retries on a capped exponential
      TelegramConflictError (409), anything       backoff with jitter
      else from aiogram
    TelegramForbiddenError (403)                RecipientGone             drops the person's queue (staff: keeps it)
    TelegramBadRequest (400, not harmless),     Refused(reason)           sets the message aside, kept for replay;
      TelegramNotFound (404),                                             the queue behind it moves on
      TelegramEntityTooLarge (413),
      TelegramMigrateToChat
    TelegramUnauthorizedError (401)             TokenRevoked              stops the bot, everything kept queued

No aiogram exception leaves `bot.channels.telegram`: the sender raises only these. The
reasons name the method and Telegram's answer, never the text of a message.
"""

from __future__ import annotations

from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.errors import DeliveryError, RecipientGone, Refused, RetryLater, TokenRevoked

REVOKED_ADVICE = (
    "the Bot API no longer accepts ACCUEIL_TELEGRAM_TOKEN (401): get a new token from @BotFather, "
    "set it and start the bot again; everything queued is kept and sent then"
)

_HARMLESS_EDITS = ("message is not modified", "message to edit not found", "message can't be edited")
_HARMLESS_DELETES = ("not found", "can't be deleted")


def method_name(exc: AiogramError) -> str:
    """The Bot API method that failed (`sendMessage`), or `a Bot API call` when unknown."""
    method = getattr(exc, "method", None)
    return str(getattr(method, "__api_method__", "")) or "a Bot API call"


def harmless_edit(exc: TelegramBadRequest) -> bool:
    """Edits of a message that is gone or already as wanted need no retry."""
    text = exc.message.lower()
    return any(phrase in text for phrase in _HARMLESS_EDITS)


def harmless_delete(exc: TelegramBadRequest) -> bool:
    """A message already gone, or too old to delete, is as erased as the bot can make it."""
    text = exc.message.lower()
    return not unknown_method(exc) and any(phrase in text for phrase in _HARMLESS_DELETES)


def unknown_method(exc: TelegramAPIError) -> bool:
    """The Bot API server does not know the method (a local server or emulator lacking it)."""
    if isinstance(exc, TelegramNotFound):
        return True
    return isinstance(exc, TelegramBadRequest) and "method not found" in exc.message.lower()


def outcome(exc: AiogramError) -> DeliveryError:
    """The outcome `exc` stands for (raise it `from exc`)."""
    method = method_name(exc)
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(f"Telegram rate limit on {method}", float(exc.retry_after))
    if isinstance(exc, TelegramUnauthorizedError):
        return TokenRevoked(REVOKED_ADVICE)
    if isinstance(exc, TelegramForbiddenError):
        return RecipientGone("the user blocked the bot or left the chat")
    refused = _refusal(exc, method)
    if refused is not None:
        return refused
    if isinstance(exc, TelegramNetworkError | TelegramServerError | TelegramConflictError):
        return RetryLater(f"Bot API unavailable ({type(exc).__name__} on {method})")
    return RetryLater(f"unexpected answer from the Bot API ({type(exc).__name__} on {method})")


def _refusal(exc: AiogramError, method: str) -> Refused | None:
    if isinstance(exc, TelegramMigrateToChat):
        return Refused(
            f"{method}: the group became a supergroup; set ACCUEIL_STAFF_CHAT_ID to {exc.migrate_to_chat_id}"
        )
    if isinstance(exc, TelegramEntityTooLarge):
        return Refused(f"{method} answered 413 (too large): {exc.message}")
    if isinstance(exc, TelegramNotFound):
        return Refused(
            f"{method} answered 404 ({exc.message}): the Bot API server lacks this method, or the chat does not exist"
        )
    if isinstance(exc, TelegramBadRequest):
        return Refused(f"{method} answered 400 ({exc.message})")
    return None
