"""The catalog keys the engine itself uses, next to those a dialog file names.

Every catalog is checked for these like for a dialog's own keys, so a missing
translation is found when the bot starts, not when a person meets it.
"""

from __future__ import annotations

ENGINE_KEYS = frozenset(
    {
        "common.language_ask",
        "common.stale_button",
        "common.human",
        "common.skip",
        "common.done",
        "common.yes",
        "common.no",
        "common.already_with_person",
        "common.with_person",
        "common.ended",
        "common.welcome_back",
        "common.help",
        "common.unknown_command",
        "common.handoff_requested",
        "common.discreet_button",
        "common.discreet_on",
        "common.discreet_off",
        "common.choose_language",
        "common.use_buttons",
        "common.invalid_text",
        "common.unsupported_media",
        "common.exit",
    }
)
