"""The dialog engine: pure functions over dialog data, no I/O.

`load_dialogs` reads and validates `dialogs/*.yaml`; `advance` moves one
conversation forward by one inbound event and returns the effects to render.
"""

from bot.engine.loader import DialogCheck, load_dialog, load_dialogs, parse_dialog
from bot.engine.model import Dialog, Step, StepKind
from bot.engine.runtime import (
    ENGINE_KEYS,
    Answered,
    Ask,
    Button,
    Command,
    Effect,
    Finished,
    HandedOff,
    Inbound,
    LanguageChanged,
    Languages,
    Marked,
    Media,
    Msg,
    Press,
    Reselect,
    Say,
    Start,
    State,
    TextIn,
    Toast,
    Verbatim,
    advance,
    begin,
)

__all__ = [
    "ENGINE_KEYS",
    "Answered",
    "Ask",
    "Button",
    "Command",
    "Dialog",
    "DialogCheck",
    "Effect",
    "Finished",
    "HandedOff",
    "Inbound",
    "LanguageChanged",
    "Languages",
    "Marked",
    "Media",
    "Msg",
    "Press",
    "Reselect",
    "Say",
    "Start",
    "State",
    "Step",
    "StepKind",
    "TextIn",
    "Toast",
    "Verbatim",
    "advance",
    "begin",
    "load_dialog",
    "load_dialogs",
    "parse_dialog",
]
