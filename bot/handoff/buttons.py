"""The staff's buttons: what a press says, and how rows of buttons are written.

A button's data is ``action:CASE`` or ``action:CASE:STAFF`` (at most 64 bytes, as
Telegram allows): ``claim:CASE`` in the staff group, ``case:CASE`` in /cases,
``invite:CASE:STAFF`` and ``transfer:CASE:STAFF`` under the offers.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.base import StaffPress

__all__ = ["Buttons", "StaffPress", "one_per_row"]

#: Rows of (label, data) buttons.
Buttons = Sequence[Sequence[tuple[str, str]]]


def one_per_row(buttons: Sequence[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple((button,) for button in buttons)
