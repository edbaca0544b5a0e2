"""Discreet mode: what the person receives is silent and opens with a neutral line.

A phone's lock screen shows the first words of a message; in discreet mode they
say nothing ("New message"), and the message makes no sound. What a lock screen
shows is the phone's choice, not the bot's: the person is also told how to turn
message previews off in Telegram.
"""

from __future__ import annotations

from typing import Any

from bot.engine import Msg
from bot.i18n import Catalogs
from storage.models import Conversation


def discreetly(
    catalogs: Catalogs, conversation: Conversation, language: str | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """In discreet mode a message to the person is silent and opens with a neutral line, so the
    lock screen's preview shows nothing of what follows."""
    if not conversation.discreet:
        return payload
    neutral = catalogs.render(language, Msg("common.discreet_prefix"))
    return {**payload, "text": f"{neutral}\n\n\n{payload['text']}", "silent": True}
