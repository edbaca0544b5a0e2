"""Telling the staff: the port the handoff speaks through, and the outbox behind it.

`StaffNotifier` is everything the handoff says to the association's staff: a
case announced to the staff group (and the announcement withdrawn once the case
is claimed), a line to one staff member, a file the person sent passed on to
one. Every call happens inside the update's unit of work: `OutboxNotifier`
queues into the outbox in the session it is given, and nothing leaves before
the session commits. Nothing is queued to a staff member who was removed.
`testkit.fake_notifier.FakeNotifier` records calls in tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutItem
from bot.handoff.buttons import Buttons
from bot.outbox.queue import Postbox
from storage import repo
from storage.models import Conversation, Staff


class StaffNotifier(Protocol):
    async def announce(
        self, session: AsyncSession, conversation: Conversation, text: str, buttons: Buttons, now: datetime
    ) -> None:
        """Tell the staff group about the case, with buttons (Claim)."""

    async def withdraw(self, session: AsyncSession, conversation: Conversation, text: str, now: datetime) -> None:
        """The case's announcements in the staff group lose their buttons and read `text`."""

    async def tell(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        text: str,
        now: datetime,
        *,
        buttons: Buttons = (),
    ) -> None:
        """Tell one staff member something about the case, in their private chat with the bot."""

    async def pass_on(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        source: tuple[str, str],
        caption: str,
        now: datetime,
    ) -> None:
        """Give one staff member a copy of what the person sent: `source` is (chat, message)."""


class OutboxNotifier:
    """The staff are told through the outbox, like everyone else: sealed to the case, in order."""

    def __init__(self, postbox: Postbox) -> None:
        self.postbox = postbox

    async def announce(
        self, session: AsyncSession, conversation: Conversation, text: str, buttons: Buttons, now: datetime
    ) -> None:
        notice = OutItem("notice", text, buttons=_rows(buttons))
        await self.postbox.put(session, conversation, notice, now, destination=repo.GROUP)

    async def withdraw(self, session: AsyncSession, conversation: Conversation, text: str, now: datetime) -> None:
        await self.postbox.put(session, conversation, OutItem("retire", text), now, destination=repo.GROUP)

    async def tell(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        text: str,
        now: datetime,
        *,
        buttons: Buttons = (),
    ) -> None:
        await self._to_member(session, conversation, staff_id, OutItem("message", text, buttons=_rows(buttons)), now)

    async def pass_on(
        self,
        session: AsyncSession,
        conversation: Conversation,
        staff_id: int,
        source: tuple[str, str],
        caption: str,
        now: datetime,
    ) -> None:
        await self._to_member(session, conversation, staff_id, OutItem("copy", caption, source=list(source)), now)

    async def _to_member(
        self, session: AsyncSession, conversation: Conversation, staff_id: int, item: OutItem, now: datetime
    ) -> None:
        """Queue `item` to one staff member's private chat; nothing for someone no longer on the team."""
        if await _on_the_team(session, staff_id):
            destination = repo.staff_destination(staff_id)
            await self.postbox.put(session, conversation, item, now, destination=destination)


async def _on_the_team(session: AsyncSession, staff_id: int) -> bool:
    member = await session.get(Staff, staff_id)
    return member is not None and member.removed_at is None


def _rows(buttons: Buttons) -> list[list[list[str]]]:
    return [[[label, data] for label, data in row] for row in buttons]
