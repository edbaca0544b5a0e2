"""What a person does, as the engine sees it: the `Event` union.

Channels turn their own updates (a Telegram message, a terminal line) into one
of these values; `advance` takes exactly one. They carry no chat, user or
channel: the envelope around them is the channel's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Start:
    """The victim opened the conversation (``/start``)."""


@dataclass(frozen=True)
class TextIn:
    text: str
    #: Languages the text seems to be written in, likeliest first (detected
    #: offline by the caller); used only while the language is being chosen.
    guesses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Press:
    turn: int
    value: str


@dataclass(frozen=True)
class Command:
    name: str  # without the slash, lower case
    args: str = ""


@dataclass(frozen=True)
class Media:
    """Something that is not text (a photo, a voice message ...), with the words written under it."""

    kind: str
    caption: str | None = None


Event: TypeAlias = Start | TextIn | Press | Command | Media
