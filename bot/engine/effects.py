"""What the engine asks the conversation service to do: effects, as plain values.

Texts are catalog keys (`Msg`) or text shown as it is (`Verbatim`), never
rendered strings, so the engine knows languages only by their codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

# --- the values effects carry ------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    """A catalog message: key and placeholder values."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verbatim:
    """Text shown as it is (a language's own name, say)."""

    text: str


Label: TypeAlias = Msg | Verbatim


@dataclass(frozen=True)
class Button:
    label: Label
    value: str
    selected: bool = False


Keyboard: TypeAlias = tuple[tuple[Button, ...], ...]


# --- the effects ---------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: Msg


@dataclass(frozen=True)
class Ask:
    text: Msg
    buttons: Keyboard
    turn: int
    step: str


@dataclass(frozen=True)
class Reselect:
    """A multiple-choice toggle: show the same question with these buttons."""

    buttons: Keyboard
    turn: int


@dataclass(frozen=True)
class Answered:
    """Close the question of `turn`: remove its keyboard, echo the answer under it."""

    turn: int
    question: Msg
    echo: tuple[Label, ...]


@dataclass(frozen=True)
class Toast:
    """A short notice answering a button press (not a chat message)."""

    text: Msg


@dataclass(frozen=True)
class LanguageChanged:
    language: str


@dataclass(frozen=True)
class Marked:
    mark: str


@dataclass(frozen=True)
class HandedOff:
    reason: str


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class QuickExit:
    """Erase the conversation from the victim's phone, then say nothing more."""


@dataclass(frozen=True)
class Discretion:
    """Discreet mode turned on or off: silent messages that open with a neutral line."""

    on: bool


Effect: TypeAlias = (
    Say | Ask | Reselect | Answered | Toast | LanguageChanged | Marked | HandedOff | Finished | QuickExit | Discretion
)
