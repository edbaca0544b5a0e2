"""The dialog engine: pure functions over dialog data, no I/O.

`load_dialogs` reads and validates `dialogs/*.yaml`; `advance` moves one
conversation forward by one `Event` and returns the effects to render.

    events.py     what a person does (`Event`: Start, TextIn, Press, Command, Media)
    effects.py    what to do about it (Say, Ask, Answered, ...) and the values they carry
    state.py      where a conversation stands, and its dict codec
    runtime.py    `begin` and `advance`; commands and what holds at any moment
    answers.py    answering the current question, per step kind
    steps.py      entering steps: silent ones run, a question is asked
    keyboard.py   the buttons under a question, and the values the engine reserves
    languages.py  the languages offered, in keyboard order
    messages.py   the catalog keys the engine itself uses
    model.py      the typed dialog (`Dialog`, `Step`, `StepKind`)
    loader/       reading dialog files in three passes
"""

from bot.engine.effects import (
    Answered,
    Ask,
    Button,
    Discretion,
    Effect,
    Finished,
    HandedOff,
    LanguageChanged,
    Marked,
    Msg,
    QuickExit,
    Reselect,
    Say,
    Toast,
    Verbatim,
)
from bot.engine.events import Command, Event, Media, Press, Start, TextIn
from bot.engine.languages import Languages
from bot.engine.loader import DialogCheck, load_dialog, load_dialogs, parse_dialog
from bot.engine.messages import ENGINE_KEYS
from bot.engine.model import Dialog, Step, StepKind
from bot.engine.runtime import advance, begin
from bot.engine.state import State
from bot.engine.steps import LANGUAGE_STEP

__all__ = [
    "ENGINE_KEYS",
    "LANGUAGE_STEP",
    "Answered",
    "Ask",
    "Button",
    "Command",
    "Dialog",
    "DialogCheck",
    "Discretion",
    "Effect",
    "Event",
    "Finished",
    "HandedOff",
    "LanguageChanged",
    "Languages",
    "Marked",
    "Media",
    "Msg",
    "Press",
    "QuickExit",
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
