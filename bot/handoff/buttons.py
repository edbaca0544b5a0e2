"""The staff's buttons: what a press says, and how rows of buttons are written.

A button's data is ``action:CASE`` or ``action:CASE:STAFF`` (at most 64 bytes, as
Telegram allows): ``claim:CASE`` in the staff group, ``case:CASE`` in /cases,
``invite:CASE:STAFF`` and ``transfer:CASE:STAFF`` under the offers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Staff buttons: "claim:CASE", "invite:CASE:STAFF", "transfer:CASE:STAFF", "case:CASE".
STAFF_ACTIONS = ("claim", "invite", "transfer", "case")

#: Rows of (label, data) buttons.
Buttons = Sequence[Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class StaffPress:
    """A press on one of the staff's buttons (in the staff group or a private chat)."""

    action: str
    case: str
    target: int | None = None

    @classmethod
    def parse(cls, data: str) -> StaffPress | None:
        parts = data.split(":")
        if len(parts) not in (2, 3) or parts[0] not in STAFF_ACTIONS or len(data) > 64:
            return None
        target = None
        if len(parts) == 3:
            if not parts[2].isdigit():
                return None
            target = int(parts[2])
        return cls(parts[0], parts[1], target)

    def data(self) -> str:
        return f"{self.action}:{self.case}" + (f":{self.target}" if self.target is not None else "")


def one_per_row(buttons: Sequence[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple((button,) for button in buttons)
