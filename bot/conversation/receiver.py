"""The one place that opens the unit of work for an update: apply it in one transaction, then deliver.

Channels turn their own events into `Inbound` values (`bot.channels.base`) and
call `Receiver.receive`; they never touch the database or the engine themselves.
The conversation service, the guard and the handoff work inside the session the
receiver gives them and never open one.

Around the conversation service the receiver applies the guard
(`bot.conversation.guard`): a flood is warned once, then dropped in memory before any
database work, so it slows no one else (staff are never limited); a blocked
user is ignored; a person over the daily cap of conversations gets a kind
reply. While the database is briefly away an update is retried; when handling
fails for another reason it is retried a few times, then parked sealed and the
person told their message is kept. Replies are delivered after the commit: in the background when
`background` is set (Telegram), so one chat's paced sends never hold up
another's updates, and `drain` waits for them at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Inbound, Outcome, OutItem
from bot.conversation.guard import Guard
from bot.conversation.limits import Dropped, FloodLimiter, Limits, Verdict, is_quick_exit
from bot.conversation.parking import Parking
from bot.conversation.service import ConversationService
from bot.engine import HandedOff
from bot.errors import StorageError, describe
from bot.outbox.delivery import Outbox
from storage.db import checkpoint_wal

log = logging.getLogger("accueil.channel")


def transient(exc: BaseException) -> bool:
    """The database is away or busy (retry the update), rather than refusing what was asked (a bug)."""
    if isinstance(exc, IntegrityError | ProgrammingError | DataError | NotSupportedError):
        return False
    return isinstance(exc, DBAPIError | OSError | PoolTimeout)


class Receiver:
    def __init__(
        self,
        service: ConversationService,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        *,
        attempts: int = 5,
        handler_attempts: int = 3,
        flood: FloodLimiter | None = None,
        conversations_per_day: int | None = None,
        background: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.outbox = outbox
        self.attempts = attempts
        self.handler_attempts = handler_attempts
        self.flood = flood
        self.background = background
        self.monotonic = monotonic
        self.guard = Guard(service, conversations_per_day=conversations_per_day, clock=service.clock)
        self.parking = Parking(service.keys, service.clock)

    @classmethod
    def with_limits(
        cls,
        service: ConversationService,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        limits: Limits,
    ) -> Receiver:
        """The receiver a live channel runs: flood limit, daily cap, replies delivered in the background."""
        return cls(
            service,
            sessions,
            outbox,
            flood=FloodLimiter(limits.flood_burst, limits.flood_per_minute),
            conversations_per_day=limits.conversations_per_day,
            background=True,
        )

    async def receive(self, inbound: Inbound) -> Outcome:
        """Apply `inbound` (retrying while the database is briefly away), then send the replies."""
        outcome = await self._apply(inbound)
        for conversation_id in dict.fromkeys((outcome.conversation_id, *outcome.touched)):
            if conversation_id is not None:
                await self._deliver(conversation_id)
        if any(isinstance(effect, HandedOff) for effect in outcome.effects):
            await self._checkpoint()  # after the replies: a checkpoint held up by readers waits, not the person
        return outcome

    async def _apply(self, inbound: Inbound) -> Outcome:
        key = (inbound.channel, inbound.user)
        dropped: Dropped | None = None
        if self.flood is not None:  # staff are never limited: asked again at each warning (removal counts)
            verdict = self.flood.check(key, self.monotonic(), inbound.message_ref, exempt=is_quick_exit(inbound.event))
            if verdict is Verdict.DROP:
                return Outcome(None)
            if verdict is Verdict.WARN and await self._is_staff(inbound):
                self.flood.forget(key)
            elif verdict is Verdict.WARN:
                warned, _ = await self._run(
                    inbound, lambda session: self.guard.warn_flood(session, inbound), park=False
                )
                return warned
            else:
                dropped = self.flood.take_dropped(key)
        applied = False
        try:
            outcome, applied = await self._run(inbound, lambda session: self._handle(session, inbound, dropped))
        finally:
            if dropped is not None and not applied and self.flood is not None:
                self.flood.give_back(key, dropped)
        return outcome

    async def _is_staff(self, inbound: Inbound) -> bool:
        try:
            async with self.sessions() as session:
                return await self.guard.is_staff(session, inbound.channel, inbound.user)
        except Exception as exc:  # the database away: treated as not staff, so limited
            log.warning("could not tell whether a flood comes from staff (%s)", describe(exc))
            return False

    async def _handle(self, session: AsyncSession, inbound: Inbound, dropped: Dropped | None) -> Outcome:
        case = await self.guard.blocked(session, inbound.channel, inbound.user)
        if case is not None:
            log.info("an update from a blocked user was ignored", extra={"case": case})
            return Outcome(None)
        if dropped is not None:
            await self.guard.note_dropped(session, inbound.channel, inbound.user, dropped)
        refused = await self.guard.refuse_new(session, inbound)
        if refused is not None:
            return refused
        return await self.service.handle(session, inbound)

    async def _run(
        self, inbound: Inbound, work: Callable[[AsyncSession], Awaitable[Outcome]], *, park: bool = True
    ) -> tuple[Outcome, bool]:
        """`work` in one transaction: retried while the database is away (then `StorageError`: the
        channel holds the update), retried a few times when it fails otherwise, then parked."""
        delay = 0.2
        away = failures = 0
        while True:
            try:
                async with self.sessions.begin() as session:
                    return await work(session), True
            except Exception as exc:
                if transient(exc):
                    away += 1
                    if away >= self.attempts:
                        raise StorageError("the database is unavailable; the update will be retried") from exc
                    log.warning("database unavailable, retrying", extra={"attempt": away})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                failures += 1
                if failures < self.handler_attempts:
                    log.warning("handling an update failed (%s); retrying", describe(exc), extra={"attempt": failures})
                    await asyncio.sleep(0.05 * failures)
                    continue
                if not park:
                    log.error("handling an update failed (%s); it was not kept", describe(exc))
                    return Outcome(None), False
                return await self._park(inbound, exc, failures), False

    async def _park(self, inbound: Inbound, error: Exception, attempts: int) -> Outcome:
        """Keep the update sealed for `accueil parked replay`, and tell the person their message is kept."""
        try:
            try:
                async with self.sessions.begin() as session:
                    parked = await self.parking.park(session, inbound, error, attempts)
                    outcome = await self.guard.kept(session, inbound, parked)
            except Exception as exc:
                if transient(exc):
                    raise
                log.warning("the conversation could not be told (%s); parking the update alone", describe(exc))
                async with self.sessions.begin() as session:
                    parked = await self.parking.park(session, inbound, error, attempts)
                    outcome = Outcome(None)
        except Exception as exc:
            if transient(exc):
                raise StorageError("the database is unavailable; the update will be retried") from exc
            raise
        log.error(
            "an update could not be handled after %d attempts (%s); it is kept sealed as %s: "
            "fix the cause, then run `accueil parked replay %s`",
            attempts,
            describe(error),
            parked.ref,
            parked.ref,
            extra={"case": parked.public_id},
        )
        if outcome.conversation_id is None:
            await self._tell(inbound)
        return outcome

    async def _tell(self, inbound: Inbound) -> None:
        """'Your message is kept', straight to a chat that has no conversation to queue it in."""
        try:
            sender = self.outbox.senders.get(inbound.channel, self.outbox.sender)  # the person's own channel
            kept = OutItem(kind="message", text=self.guard.error_text(inbound.language_hint))
            await sender.deliver(inbound.chat, kept)
        except Exception as exc:  # best effort: the update itself is kept
            log.warning("the person could not be told their message is kept (%s)", describe(exc))

    async def _checkpoint(self) -> None:
        """After a handoff: the intake's older working states leave SQLite's WAL (`db.checkpoint_wal`)."""
        try:
            async with self.sessions() as session:
                await checkpoint_wal(session)
        except Exception as exc:  # committed already; the next handoff checkpoints again
            log.warning("the WAL could not be checkpointed after a handoff (%s)", describe(exc))

    async def _deliver(self, conversation_id: int) -> None:
        if self.background:
            self.outbox.flush_soon(conversation_id)
        else:
            await self.outbox.flush_quietly(conversation_id)

    async def settle(self, *, everything: bool = False) -> int:
        """Record how many messages each finished flood dropped (all floods, with `everything`)."""
        if self.flood is None:
            return 0
        over = self.flood.take_all() if everything else self.flood.calmed(self.monotonic())
        for (channel, user), dropped in over:
            try:
                async with self.sessions.begin() as session:
                    if await self.guard.blocked(session, channel, user) is None:
                        await self.guard.note_dropped(session, channel, user, dropped)
            except Exception as exc:
                self.flood.give_back((channel, user), dropped)
                log.warning("a flood's dropped count could not be recorded yet (%s)", describe(exc))
        return len(over)

    async def run(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        """Housekeeping until `stop` is set: record the floods that are over."""
        while not stop.is_set():
            await self.settle()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def drain(self, within: float = 20.0) -> None:
        """At shutdown: wait for replies being delivered (what is left stays queued), record floods."""
        await self.outbox.drain(within)
        await self.settle(everything=True)
