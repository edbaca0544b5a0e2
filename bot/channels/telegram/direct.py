"""One message to one chat, sent at once, for a command run outside the bot (`accueil staff invite`).

The running bot sends through its outbox; a one-shot command has no outbox loop to wait for, so it
sends here and says plainly when it could not. Nothing of aiogram leaves this package.
"""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.channels.telegram.runner import make_bot
from bot.errors import DeliveryError


async def send_now(token: str, api_base: str | None, chat: str, text: str) -> None:
    """Send `text` to `chat` with the bot's token; `DeliveryError` with one readable line when it fails."""
    bot = make_bot(token, api_base)
    try:
        await bot.send_message(int(chat), text, disable_notification=False)
    except TelegramNetworkError as exc:
        raise DeliveryError(f"the Bot API could not be reached ({type(exc).__name__})") from exc
    except TelegramAPIError as exc:
        raise DeliveryError(f"the Bot API refused the message: {exc.message}") from exc
    except (OSError, TimeoutError) as exc:
        raise DeliveryError(f"the Bot API could not be reached ({type(exc).__name__})") from exc
    finally:
        await bot.session.close()
