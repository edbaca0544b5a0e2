"""What every channel shares: apply an inbound event in one transaction, then deliver.

Channels turn their own events into `Inbound` values and call `Receiver.receive`;
they never touch the database or the engine themselves.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import ConversationService, Inbound, Outcome
from bot.errors import StorageError
from bot.outbox import Outbox

log = logging.getLogger("accueil.channel")


class Receiver:
    def __init__(
        self,
        service: ConversationService,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        attempts: int = 5,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.outbox = outbox
        self.attempts = attempts

    async def receive(self, inbound: Inbound) -> Outcome:
        """Apply `inbound` (retrying while the database is briefly away), then send the replies."""
        outcome = await self._apply(inbound)
        if outcome.conversation_id is not None:
            await self.outbox.flush(outcome.conversation_id)
        return outcome

    async def _apply(self, inbound: Inbound) -> Outcome:
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.sessions.begin() as session:
                    return await self.service.handle(session, inbound)
            except (OperationalError, DBAPIError, OSError) as exc:
                if attempt == self.attempts:
                    raise StorageError("the database is unavailable; the update will be retried") from exc
                log.warning("database unavailable, retrying", extra={"attempt": attempt})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")
