"""Delivering the outbox: every queued message reaches its chat, in order, once.

The conversation service queues what to send in the same transaction as the
new state. `Outbox.flush` then sends one conversation's queue in order through
the channel's `Sender`, committing after each message, so a crash re-sends at
most the one message whose confirmation was lost.

The sender raises one of four outcomes (`bot.errors`), each with one policy:
`RetryLater` waits the channel's `retry_after`, or a capped exponential backoff
with jitter; `RecipientGone` drops the person's queue (a staff chat's is kept);
`Refused` sets the message aside (`bot.outbox.set_aside`) and the queue behind it
moves on; `TokenRevoked` stops all sending and, through `run`, the bot, keeping
everything queued. Each conversation is flushed on its own: one conversation's
failure, even an unexpected exception, never holds back another's delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import ERASABLE_FOR, OutItem, Sender
from bot.errors import DeliveryError, RecipientGone, Refused, RetryLater, SealError, TokenRevoked, describe
from bot.outbox.queue import payload_context
from bot.outbox.set_aside import set_aside
from bot.transcript.writer import Entry, TranscriptWriter
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation, OutboxMessage, Staff
from storage.sealed import Sealed

log = logging.getLogger("accueil.outbox")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: How many questions' message ids the outbox remembers.
REMEMBERED = 4096


class StaffUnreachable:
    """The default sender when no channel reaches the staff (no Telegram token): what is queued for them
    waits, kept and retried every `after` seconds, until the bot runs with a token; caseworkers meanwhile
    work in the console."""

    def __init__(self, after: float = 300.0) -> None:
        self.after = after

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        raise RetryLater("staff chats are reached through Telegram, and no ACCUEIL_TELEGRAM_TOKEN is set", self.after)


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: ServerKey,
        sender: Sender,
        clock: Callable[[], datetime],
        *,
        max_attempts: int = 12,
        staff_chat: int | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.staff_chat = None if staff_chat is None else str(staff_chat)
        self.sessions = sessions
        self.keys = keys
        self.sender = sender
        #: The person's chat is reached through their conversation's channel ("web", ...); staff through `sender`.
        self.senders: dict[str, Sender] = {}
        self.clock = clock
        self.max_attempts = max_attempts
        self.jitter = jitter
        self._locks: dict[int, asyncio.Lock] = {}
        #: The message id of each question sent, by (case, turn): a close or reselect needs it. By case,
        #: not by conversation id: SQLite may give a purged conversation's id to a new one.
        self._asked: OrderedDict[tuple[str, int], str] = OrderedDict()
        #: Set when the channel refused the bot's token: nothing is sent any more, everything is kept.
        self.halted: TokenRevoked | None = None
        #: Flushes running in the background (`flush_soon`), awaited by `drain` at shutdown.
        self._background: set[asyncio.Task[None]] = set()

    def route(self, channel: str, sender: Sender) -> None:
        """Deliver to people who came through `channel` with `sender` (staff chats stay on the default one)."""
        self.senders[channel] = sender

    def _sender(self, conversation: Conversation, destination: str) -> Sender:
        if destination == repo.VICTIM:
            return self.senders.get(conversation.channel, self.sender)
        return self.sender

    def flush_soon(self, conversation_id: int) -> None:
        """`flush_quietly` in the background: the caller (an update, a console action) does not wait for
        one chat's paced sends."""
        task = asyncio.create_task(self.flush_quietly(conversation_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def flush_quietly(self, conversation_id: int) -> None:
        """`flush`, after a commit: a failure leaves the messages queued for the retry loop (`run`)."""
        try:
            await self.flush(conversation_id)
        except Exception as exc:  # committed: the retry loop sends it later
            log.warning("replies left in the outbox for the retry loop (%s)", describe(exc))

    async def drain(self, within: float = 20.0) -> None:
        """At shutdown: wait for the background flushes (what is left stays queued for the next start)."""
        if not self._background:
            return
        _, late = await asyncio.wait(set(self._background), timeout=within)
        for task in late:
            task.cancel()
        if late:
            log.warning("shutting down with replies still queued; they are sent at the next start")

    async def flush(self, conversation_id: int) -> None:
        """Send what is due for one conversation, in order; stop at the first failure."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            try:
                await self._flush(conversation_id)
            finally:
                if not lock._waiters:
                    self._locks.pop(conversation_id, None)

    async def _flush(self, conversation_id: int) -> None:
        async with self.sessions() as session:
            conversation, pending = await repo.pending_with_address(session, conversation_id)
            if conversation is None:
                return  # nothing pending (or no such conversation)
            held: set[str] = set()  # destinations whose queue waits (order is kept per chat)
            for message in pending:
                if self.halted is not None:
                    return
                try:
                    if message.destination not in held and not await self._send_one(session, conversation, message):
                        held.add(message.destination)
                except _Abandoned:  # the rest of this conversation's queues wait for the next round
                    return

    async def _send_one(self, session: AsyncSession, conversation: Conversation, message: OutboxMessage) -> bool:
        """Try `message`; whether its queue may go on to the next one (sent, or set aside)."""
        message_id, attempts, destination = message.id, message.attempts, message.destination
        now = self.clock()
        if message.next_attempt_at.replace(tzinfo=now.tzinfo) > now:
            return False
        case = conversation.public_id
        chat = await self._chat(session, conversation, message.destination)
        if chat is None:
            await self._retry(session, message.id, message.attempts, 60.0, case)
            return False
        try:
            item = await self._item(session, conversation, message, payload_context(case))
            ref = None if item is None else await self._sender(conversation, destination).deliver(chat, item)
        except DeliveryError as exc:
            return await self._failed(session, conversation, message, exc)
        except Exception as exc:  # a bug or a broken row: this message waits, no other
            log.error(
                "delivering a message to %s failed (%s); it is retried on its backoff",
                _describe(destination),
                describe(exc),
                extra={"case": case},
            )
            async with self.sessions() as fresh:  # this session may be unusable now
                await self._retry(fresh, message_id, attempts, None, case)
            raise _Abandoned from exc
        parts = (ref or "").split()  # a long text went in several messages; the last has the buttons
        await repo.mark_sent(session, message.id, parts[-1] if parts else None, self.clock())
        if parts and destination == repo.VICTIM and message.kind == "message" and message.turn is not None:
            _remember(self._asked, (conversation.public_id, message.turn), parts[-1])
        if message.destination == repo.VICTIM:  # the earlier parts: erased with the rest on a quick exit
            for part in parts[:-1]:
                await repo.record_inbound(session, conversation.id, part, self.clock())
        await session.commit()
        return True

    async def _failed(
        self, session: AsyncSession, conversation: Conversation, message: OutboxMessage, exc: DeliveryError
    ) -> bool:
        """Apply the policy of the outcome `exc`; whether the queue may go on."""
        case = conversation.public_id
        destination = message.destination
        if isinstance(exc, TokenRevoked):
            self._halt(exc)
            return False
        if isinstance(exc, Refused):
            await set_aside(session, self.keys, conversation, message, exc, self.clock())
            return True
        if isinstance(exc, RecipientGone) and destination == repo.VICTIM:
            log.warning("chat unreachable; queue dropped", extra={"case": case})
            await repo.drop_pending(session, conversation.id)
            # Recorded with the case, so a caseworker knows why the person hears nothing.
            event = Entry("system", self.clock().isoformat(), "event", text="the person blocked the bot: not sent")
            await TranscriptWriter(self.keys).append(session, conversation, [event])
            await session.commit()
            return False
        if isinstance(exc, RecipientGone):
            # Staff must never miss a case: keep it, and tell the operator what to fix.
            log.error(
                "cannot reach %s (the bot was removed from the staff group, or a caseworker blocked it); "
                "add the bot back: the message is kept and retried",
                _describe(destination),
                extra={"case": case},
            )
            await self._retry(session, message.id, message.attempts, 60.0, case)
            return False
        if not isinstance(exc, RetryLater):
            log.warning("delivery to %s failed: %s", _describe(destination), exc, extra={"case": case})
        away = isinstance(exc, RetryLater) and exc.away
        await self._retry(session, message.id, message.attempts, getattr(exc, "after", None), case, quiet=away)
        return False

    def _halt(self, exc: TokenRevoked) -> None:
        if self.halted is None:
            log.error("%s", exc)
        self.halted = exc

    async def _chat(self, session: AsyncSession, conversation: Conversation, destination: str) -> str | None:
        try:
            if destination == repo.VICTIM:
                return self.keys.open(conversation.chat_sealed, Sealed.CHAT.of(conversation.public_id)).decode()
            if destination == repo.GROUP:
                if self.staff_chat is None:
                    log.error(
                        "a case waits for the staff group but ACCUEIL_STAFF_CHAT_ID is not set",
                        extra={"case": conversation.public_id},
                    )
                return self.staff_chat
            staff = await session.get(Staff, int(destination.partition(":")[2]))
            if staff is None:
                return None
            return self.keys.open(staff.chat_sealed, Sealed.STAFF_CHAT.of(staff.id)).decode()
        except SealError:
            log.error(
                "cannot open a chat address; is ACCUEIL_SERVER_KEY the right key?",
                extra={"case": conversation.public_id},
            )
            return None

    async def _item(
        self, session: AsyncSession, conversation: Conversation, message: OutboxMessage, context: str
    ) -> OutItem | None:
        conversation_id = conversation.id
        if message.payload_sealed is None:
            return None
        queued = OutItem.from_sealed(message.kind, self.keys.open(message.payload_sealed, context))
        kind = message.kind
        target = None
        refs = list(queued.refs)
        if kind in ("close", "reselect"):
            target = await self._question(session, conversation, message.turn or 0)
            if target is None:
                return None  # the question never reached the chat: nothing to change
        elif kind == "retire":
            refs = await repo.sent_refs(session, conversation_id, message.destination, "notice")
            if not refs:
                return None
        elif kind == "erase":
            # Looked up again now, under the conversation's lock: a message whose sending was under
            # way while the quick exit was applied (after a flood's warning, say) is erased too.
            since = self.clock() - ERASABLE_FOR
            found = set(refs) | set(await repo.erasable_messages(session, conversation_id, since))
            refs = sorted(found, key=lambda ref: int(ref) if ref.isdigit() else 0)
        return replace(queued, target=target, refs=refs)

    async def _question(self, session: AsyncSession, conversation: Conversation, turn: int) -> str | None:
        """The message id of the question of `turn`, as last sent (remembered when this process sent it)."""
        known = self._asked.get((conversation.public_id, turn))
        if known is not None:
            return known
        return await repo.sent_question(session, conversation.id, turn)

    async def _retry(
        self,
        session: AsyncSession,
        message_id: int,
        attempts: int,
        after: float | None,
        case: str,
        *,
        quiet: bool = False,
    ) -> None:
        attempts += 1
        if attempts >= self.max_attempts and not quiet:
            log.error(
                "message still undelivered after %d attempts; will keep trying every 5 minutes",
                attempts,
                extra={"case": case},
            )
        delay = timedelta(seconds=after) if after is not None else self._backoff(attempts)
        await repo.mark_retry(session, message_id, attempts, self.clock() + delay)
        await session.commit()

    def _backoff(self, attempts: int) -> timedelta:
        """The capped exponential backoff, with jitter: between half of it and all of it."""
        return repo.backoff(attempts) * (0.5 + self.jitter() / 2)

    async def flush_due(self) -> int:
        """Flush every conversation with something due (start-up, and the retry loop). Each on its
        own: one conversation's failure, whatever it is, holds back no other."""
        if self.halted is not None:
            return 0
        async with self.sessions() as session:
            due = await repo.conversations_with_due_messages(session, self.clock())
        for conversation_id in due:
            try:
                await self.flush(conversation_id)
            except Exception as exc:  # the database away, say: the next round tries again
                log.warning("delivering a case's messages failed (%s); retried at the next round", describe(exc))
        return len(due)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Retry what is due until `stop` is set; set `stop` when the channel refuses the bot's token."""
        while not stop.is_set():
            try:
                await self.flush_due()
            except Exception as exc:  # the loop must outlive one bad round
                log.warning("outbox round failed (%s); retrying", describe(exc))
            if self.halted is not None:
                log.error("stopping: nothing can be sent or fetched with this token; everything queued is kept")
                stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


def _remember(memory: OrderedDict[K, V], key: K, value: V) -> None:
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > REMEMBERED:
        memory.popitem(last=False)


class _Abandoned(Exception):
    """A conversation's flush stops here: something unexpected failed (it was logged)."""


def _describe(destination: str) -> str:
    if destination == repo.GROUP:
        return "the staff group (ACCUEIL_STAFF_CHAT_ID)"
    if destination.startswith("staff:"):
        return f"staff member {destination.partition(':')[2]} (accueil staff list)"
    return "the person's chat"
