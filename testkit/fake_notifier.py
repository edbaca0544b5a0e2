"""A `bot.handoff.notify.StaffNotifier` for tests: it records what the staff would be told.

Nothing is expected unless the test says so: ``FakeNotifier("announce")`` accepts
announcements only, and any other call raises `UnexpectedNotification` inside the
code under test, naming the call, its case and its text. ``expect(...)`` changes
what is accepted from then on (``expect()``: nothing at all)::

    notifier = FakeNotifier("announce")
    await handoff.queue(...)
    [notice] = notifier.of("announce")
    notifier.expect()  # from here on, the staff must not be told anything

Calls are recorded in order in ``calls``; the session is not touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation

KINDS = ("announce", "withdraw", "tell", "pass_on")
Rows = tuple[tuple[tuple[str, str], ...], ...]


class UnexpectedNotification(AssertionError):
    """The code under test told the staff something the test did not expect."""


@dataclass(frozen=True)
class Told:
    """One call: `staff_id` None is the staff group."""

    kind: str
    case: str
    staff_id: int | None
    text: str
    at: datetime
    buttons: Rows = ()
    source: tuple[str, str] | None = None


class FakeNotifier:
    def __init__(self, *expected: str) -> None:
        self.calls: list[Told] = []
        self.expected: frozenset[str] = frozenset()
        self.expect(*expected)

    def expect(self, *kinds: str) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"not a StaffNotifier call: {sorted(unknown)}; the calls are {KINDS}")
        self.expected = frozenset(kinds)

    def of(self, kind: str) -> list[Told]:
        return [told for told in self.calls if told.kind == kind]

    def to(self, staff_id: int) -> list[Told]:
        return [told for told in self.calls if told.staff_id == staff_id]

    # --- the port --------------------------------------------------------------------------

    async def announce(
        self,
        session: AsyncSession,
        conversation: Conversation,
        text: str,
        buttons: Sequence[Sequence[tuple[str, str]]],
        now: datetime,
    ) -> None:
        self._record(Told("announce", conversation.public_id, None, text, now, _rows(buttons)))

    async def withdraw(self, session: AsyncSession, conversation: Conversation, text: str, now: datetime) -> None:
        self._record(Told("withdraw", conversation.public_id, None, text, now))

    async def tell(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        text: str,
        now: datetime,
        *,
        buttons: Sequence[Sequence[tuple[str, str]]] = (),
    ) -> None:
        self._record(Told("tell", conversation.public_id, staff_id, text, now, _rows(buttons)))

    async def pass_on(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        source: tuple[str, str],
        caption: str,
        now: datetime,
    ) -> None:
        self._record(Told("pass_on", conversation.public_id, staff_id, caption, now, source=source))

    def _record(self, told: Told) -> None:
        if told.kind not in self.expected:
            to = "the staff group" if told.staff_id is None else f"staff {told.staff_id}"
            raise UnexpectedNotification(
                f"unexpected {told.kind} to {to} about case {told.case}: {told.text!r}"
                f" (expected: {sorted(self.expected) or 'nothing'})"
            )
        self.calls.append(told)


def _rows(buttons: Sequence[Sequence[tuple[str, str]]]) -> Rows:
    return tuple(tuple((label, data) for label, data in row) for row in buttons)
