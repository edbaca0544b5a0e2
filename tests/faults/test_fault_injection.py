"""Fault injection: 200 people go through the intake at once while the database and the Bot API fail
at random points; afterwards every inbound message is in a transcript exactly once and every outbound
message was delivered exactly once.

The real aiogram bot as `accueil run` assembles it (`tests.guarded`) polls the in-process fake Bot API.
Each person goes from /start to the handoff (12 questions: buttons, a multiple choice, three typed
answers carrying a marker of their own). Meanwhile faults are injected at random points, as a share
of the traffic so that a slow machine sees as many per intake as a fast one:

- Bot API refusals: 429 (with `retry_after`) and 500/502/503/504 on `sendMessage` and `editMessageText`
  (the outbox's deliveries and question closings), now and then on `getUpdates` and
  `answerCallbackQuery` (`FakeBotAPI.fail_next`);
- updates delivered again after they were applied, as Telegram does when the bot's confirmation was
  lost (straight to the dispatcher, as `testkit.telegram.RunningBot.feed` does);
- the database away when a transaction begins (`FlakySessions`, as in `tests/faults/test_faults.py`): short
  bursts, and outages of up to a second, long enough for the poller to hold updates and apply them
  again later;
- the database failing in the middle of a transaction: the next SQL statements, whichever they are
  (an update half applied, an outbox round cut short), raise the driver's `OperationalError`.

Only failures that Telegram or the database did not apply are injected. A send that *times out* may
have reached the chat, and the Bot API has no way to make a send idempotent, so the outbox retries it
and the person may see it twice (documented in `bot/outbox/delivery.py`, tested in
`test_bot_api_errors_and_timeouts_keep_the_bot_running`); likewise a failure of the statement that
records a delivered message as sent is the "confirmation lost" case the outbox re-sends. Both are at
least once by design, so they are left out of this exactly-once check.

Runtime: about 70-90 s per database on a 2-core machine, 200 people on SQLite and PostgreSQL alike; about
55 s of it is the intakes themselves, without faults. Each database fault in an update's transaction
holds up the poller's whole batch (it waits for every chat's update), which is why there is one
database fault every few hundred statements rather than more.

The faults and each person's answers come from one seed, printed in every failure (a fresh one per
run; set ACCUEIL_FAULT_SEED to replay a plan). The interleaving is the scheduler's, so a replay draws
the same faults and answers, not necessarily at the same instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.types import Update
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.settings import Settings
from bot.channels.telegram.runner import make_dispatcher
from bot.errors import StorageError
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage, ParkedUpdate, ProcessedUpdate
from testkit.fake_bot_api import FakeBotAPI, FakeMessage
from testkit.guarded import FlakySessions, guarded_bot
from testkit.telegram import TOKEN, Victim

VICTIMS = 200
#: How long a person waits for the bot's next question, and how long everything may take to settle:
#: generous, as a 2-core CI machine under injected faults is slow, and a message that met several
#: faults waits out the outbox's doubling backoff (nothing here asserts timings).
WAIT = 180.0
FIRST_USER = 7_340_300_000
STATUSES = (429, 500, 502, 503, 504)

WRITERS = ("For myself", "For someone else")
WHAT = (
    "Forced or unpaid work",
    "Forced work in someone's home",
    "Sexual exploitation",
    "Forced begging or crimes",
    "Violence at home",
    "Another crime",
)
NEEDS = (
    "A safe place to sleep",
    "A doctor or health care",
    "Papers or residence permit",
    "French classes or work",
    "Money for an emergency",
    "Legal help: complaint, lawyer",
)
DOCUMENTS = ("Yes, I have them", "Only some of them", "Someone took them from me", "No, I don't have them")
CONTACTS = ("Here, in this chat", "By phone call", "By SMS", "Meeting in person")
SKIP = "I prefer not to answer"
FINAL = "116 006"


class FailingStatements:
    """An engine hook: the next `armed` SQL statements, in whatever transaction runs them, raise the
    driver's OperationalError, as a database dropping away mid-transaction would."""

    def __init__(self) -> None:
        self.seen = 0
        self.armed = 0
        self.failed = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self.seen += 1
        if self.armed <= 0 or _records_a_delivery(statement):
            return
        self.armed -= 1
        self.failed += 1
        raise context.dialect.loaded_dbapi.OperationalError("injected fault: the database went away")


def _records_a_delivery(statement: str) -> bool:
    """The statement that records a delivered message as sent (`repo.mark_sent`): failing it is the
    "confirmation lost" case, re-sent by design (see the module docstring)."""
    return statement.startswith("UPDATE outbox SET ") and "status=" in statement


#: Bot API faults: (method, one fault every so many calls of it, at most so many calls failing in a row).
API_FAULTS = (
    ("sendMessage", (10, 50), 3),
    ("editMessageText", (10, 50), 2),
    ("getUpdates", (30, 80), 1),
    ("answerCallbackQuery", (30, 80), 1),
)
#: Database faults, and re-deliveries: one of each kind every so many SQL statements.
DATABASE_EVERY = (400, 1200)
#: The share of those that are an outage, every transaction refused for up to a second or so.
OUTAGES = 0.05


@dataclass
class Faults:
    """Injects faults at random points, as a share of the traffic (so a slow machine sees as many faults
    per intake as a fast one): after a random number of calls of a Bot API method, the next few calls
    fail; after a random number of SQL statements, the next transactions fail to begin, or the next
    statements fail, or a few updates already handled are delivered again."""

    api: FakeBotAPI
    sessions: FlakySessions
    statements: FailingStatements
    rng: random.Random
    #: Hands an update to the bot again, as Telegram does when the bot's confirmation was lost.
    again: Callable[[int], Coroutine[Any, Any, None]]
    #: Every update the people sent so far.
    pushed: list[int]
    injected: Counter[str] = field(default_factory=Counter)
    due: dict[str, int] = field(default_factory=dict)
    outage_until: float | None = None
    redeliveries: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await asyncio.sleep(0.02)
            self.tick()

    def tick(self) -> None:
        rng = self.rng
        for method, every, most in API_FAULTS:
            seen = len(self.api.calls_of(method))
            if seen >= self.due.setdefault(method, seen + rng.randint(*every)):
                self.due[method] = seen + rng.randint(*every)
                status = rng.choice(STATUSES if method in ("sendMessage", "editMessageText") else STATUSES[1:])
                count = rng.randint(1, most)
                self.api.fail_next(method, status=status, count=count, retry_after=1)
                self.injected[f"{method} {'429' if status == 429 else '5xx'}"] += count
        now = asyncio.get_running_loop().time()
        if self.outage_until is not None and now >= self.outage_until:
            self.sessions.failures = 0  # the database is back
            self.outage_until = None
        for kind in ("begin", "statement", "again"):
            seen = self.statements.seen
            if seen < self.due.setdefault(kind, seen + rng.randint(*DATABASE_EVERY)):
                continue
            self.due[kind] = seen + rng.randint(*DATABASE_EVERY)
            if kind == "again":
                # Only updates already applied and confirmed: Telegram re-delivers what it was not told
                # was handled, never an update while the bot still works on it.
                pending = set(self.api.pending_update_ids)
                confirmed = [update_id for update_id in self.pushed if update_id not in pending]
                for update_id in rng.sample(confirmed, min(len(confirmed), rng.randint(1, 4))):
                    self.redeliveries.append(asyncio.create_task(self.again(update_id)))
                    self.injected["updates delivered again"] += 1
            elif kind == "statement":
                burst = rng.randint(1, 3)
                self.statements.armed += burst
                self.injected["statements failing mid-transaction"] += burst
            elif self.outage_until is not None:
                continue
            elif rng.random() < OUTAGES:
                # Every transaction refused for a while: long enough, now and then, for the poller to
                # hold an update and apply it again later. Measured in time, as an outage is (one
                # held update would otherwise be the only one to use up a count of failures).
                self.sessions.failures = 1_000_000
                self.outage_until = now + rng.uniform(0.3, 1.0)
                self.injected["outages"] += 1
            else:
                burst = rng.randint(1, 4)
                self.sessions.failures += burst
                self.injected["transactions refused at BEGIN"] += burst

    async def stop(self) -> None:
        self.api.clear_faults()
        self.sessions.failures = 0
        self.outage_until = None
        self.statements.armed = 0
        await asyncio.gather(*self.redeliveries)


@dataclass
class Person:
    """One simulated person: what they will answer, what they sent, which questions they answered."""

    victim: Victim
    rng: random.Random
    marker: str
    pushed: list[int]
    said: list[str] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    last: str = ""
    #: This person's own updates, in the order sent.
    mine: list[int] = field(default_factory=list)

    async def question(self) -> FakeMessage:
        """The next question; a copy of the one just answered (delivered twice) is passed over, as a
        person would, so that the checks below report the repeat rather than a person lost."""
        while True:
            asked = await self.victim.question(timeout=WAIT)
            if _shown(asked) != self.last:
                self.last = _shown(asked)
                self.answered.append(asked.message_id)
                return asked

    def write(self, text: str) -> None:
        self._sent(self.victim.write(text))
        self.said.append(text)

    def tap(self, asked: FakeMessage, label: str) -> None:
        self._sent(self.victim.press(asked, label))

    def _sent(self, update_id: int) -> None:
        self.pushed.append(update_id)
        self.mine.append(update_id)

    async def press(self, label: str) -> None:
        self.tap(await self.question(), label)
        self.said.append(label)

    async def type(self, text: str) -> None:
        await self.question()
        self.write(text)

    def markers(self) -> list[str]:
        return [text for text in self.said if self.marker in text]

    async def intake(self) -> None:
        rng = self.rng
        await asyncio.sleep(rng.uniform(0, 1.0))  # not all in the very same instant
        self.write("/start")
        await self.press("English")
        await self.press(rng.choice(("Yes", "No")))  # in danger
        await self.press("Yes")  # consent
        await self.press(rng.choice(WRITERS))
        await self.press(rng.choice(WHAT))
        asked = await self.question()
        if rng.random() < 0.15:
            self.tap(asked, SKIP)
            self.said.append(SKIP)
        else:
            chosen = sorted(rng.sample(range(len(NEEDS)), rng.randint(1, 2)))
            for index in chosen:  # each press is its own update, applied in order
                self.tap(asked, NEEDS[index])
            self.tap(asked, "Done")
            self.said.append(", ".join(NEEDS[index] for index in chosen))
        await self.press(rng.choice(DOCUMENTS))
        await self.type(f"Saint-Denis {self.marker}-location")
        await self.press(rng.choice(CONTACTS))
        await self.type(f"after 18:00 {self.marker}-when")
        await self.press("No")  # no interpreter
        await self.type(f"I worked for two years without pay. {self.marker}-story")
        await self.victim.api.wait_for_bot_message(self.victim.user_id, lambda m: FINAL in (m.text or ""), timeout=WAIT)


async def _stuck(person: Person, core: Any, api: FakeBotAPI, failure: BaseException) -> str:
    """What the bot holds for a person who waited in vain, taken at that moment (not after the others
    finished): their updates, which the bot recorded as handled, and their outbox rows."""
    chat = person.victim.user_id
    async with core.sessions() as session:
        handled = set(
            (
                await session.execute(
                    select(ProcessedUpdate.update_key).where(
                        ProcessedUpdate.channel == "telegram",
                        ProcessedUpdate.update_key.in_([str(u) for u in person.mine]),
                    )
                )
            ).scalars()
        )
        case = (
            await session.execute(
                select(Conversation).where(Conversation.user_ref == core.keys.pseudonym("telegram", str(chat)))
            )
        ).scalar_one_or_none()
        rows = (
            []
            if case is None
            else (
                await session.execute(
                    select(OutboxMessage).where(OutboxMessage.conversation_id == case.id).order_by(OutboxMessage.id)
                )
            ).scalars()
        )
        outbox = [(r.id, r.kind, r.turn, r.status, r.attempts, str(r.next_attempt_at), r.failure) for r in rows]
    pending = set(api.pending_update_ids)
    updates = [
        (u, "waiting at the API" if u in pending else "handled" if str(u) in handled else "NOT HANDLED")
        for u in person.mine
    ]
    status = None if case is None else (case.status, case.case_status)
    return f"person {chat}: {failure}\nupdates: {updates}\ncase: {status}\noutbox: {outbox}"


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return int(count or 0)


async def _settle(api: FakeBotAPI, sessions: async_sessionmaker[AsyncSession], why: str) -> None:
    await api.wait_updates_consumed(timeout=WAIT)
    deadline = asyncio.get_running_loop().time() + WAIT
    while (left := await _pending(sessions)) > 0:
        assert asyncio.get_running_loop().time() < deadline, f"{left} outbox rows still pending {why}"
        await asyncio.sleep(0.2)


def _shown(message: FakeMessage) -> str:
    """A bot message's text as sent, without the answer echoed when its question was closed."""
    return (message.text or "").split("\n\n→ ")[0]


def _deliveries(api: FakeBotAPI) -> tuple[dict[int, list[int]], dict[int, Counter[int]]]:
    """Per chat: the ids of the messages every successful sendMessage created, in order; and how many
    times each message was successfully changed by editMessageText."""
    sent: dict[int, list[int]] = defaultdict(list)
    edited: dict[int, Counter[int]] = defaultdict(Counter)
    for call in api.calls:
        if call.ok and call.method == "sendMessage":
            sent[int(call.params["chat_id"])].append(int(call.result["message_id"]))
        elif call.ok and call.method == "editMessageText":
            edited[int(call.params["chat_id"])][int(call.params["message_id"])] += 1
    return sent, edited


async def test_random_database_and_bot_api_faults_lose_nothing_and_repeat_nothing(
    settings: Settings, recipient: RecipientPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    seed = int(os.environ.get("ACCUEIL_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    replay = f"(seed {seed}: replay with ACCUEIL_FAULT_SEED={seed})"
    flaky: list[FlakySessions] = []

    def sessions(real: async_sessionmaker[AsyncSession]) -> FlakySessions:
        flaky.append(FlakySessions(real))
        return flaky[0]

    statements = FailingStatements()
    # Three tries per update (not five): an outage of a second makes the poller hold the updates in
    # flight and apply them again later.
    async with (
        FakeBotAPI(token=TOKEN) as api,
        guarded_bot(api, settings, sessions=sessions, attempts=3) as running,
    ):
        core = running.core
        pushed: list[int] = []
        people = [
            Person(
                Victim(api, user_id=FIRST_USER + index, language_code="en"),
                random.Random(f"{seed}/person/{index}"),
                marker=f"FI{seed:08x}P{index:03d}",
                pushed=pushed,
            )
            for index in range(VICTIMS)
        ]
        dispatcher = make_dispatcher(running.receiver)
        diagnoses: list[str] = []

        async def intake(person: Person) -> None:
            try:
                await person.intake()
            except AssertionError as failure:
                diagnoses.append(await _stuck(person, core, api, failure))
                raise

        async def again(update_id: int) -> None:
            update = Update.model_validate(api.update(update_id), context={"bot": running.bot})
            with contextlib.suppress(StorageError):  # the database away: Telegram would try again later
                await dispatcher.feed_update(running.bot, update)

        faults = Faults(api, flaky[0], statements, random.Random(f"{seed}/faults"), again, pushed)
        event.listen(core.engine.sync_engine, "before_cursor_execute", statements)
        done = asyncio.Event()
        injecting = asyncio.create_task(faults.run(done))
        try:
            outcomes = await asyncio.gather(*(intake(person) for person in people), return_exceptions=True)
        finally:
            done.set()
            await injecting
            await faults.stop()
            event.remove(core.engine.sync_engine, "before_cursor_execute", statements)
        stuck = [(p.victim.user_id, o) for p, o in zip(people, outcomes, strict=True) if isinstance(o, BaseException)]
        assert not stuck, f"{len(stuck)} people did not reach the end of the intake {replay}; first: {diagnoses[:1]}"
        await _settle(api, core.sessions, replay)

        refused = Counter(f"{c.method} {c.status}" for c in api.calls if not c.ok)
        held = sum(1 for r in caplog.records if r.getMessage().startswith("database unavailable; holding update"))
        report = (
            f"{replay}\ninjected: {dict(faults.injected)}\nBot API calls refused: {dict(sorted(refused.items()))}\n"
            f"transactions refused at BEGIN: {flaky[0].failed}; statements failed: {statements.failed} of "
            f"{statements.seen}; updates held by the poller: {held}"
        )
        print(report)
        # The faults did happen.
        assert flaky[0].failed > 0 and statements.failed > 0, report
        assert any(k.startswith("sendMessage") for k in refused), report
        assert any(k.startswith("editMessageText") for k in refused), report

        async with core.sessions() as session:
            statuses = dict(
                (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
            )
            parked = await session.scalar(select(func.count()).select_from(ParkedUpdate))
            cases = {case.user_ref: case for case in (await session.execute(select(Conversation))).scalars()}
            transcripts = {
                ref: await read_transcript(session, case.public_id, recipient) for ref, case in cases.items()
            }
            rows: dict[int, list[OutboxMessage]] = defaultdict(list)
            for row in (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars():
                rows[row.conversation_id].append(row)
        # Every reply was delivered (none dropped, none waiting), and no update had to be parked.
        assert set(statuses) == {"sent"}, f"outbox rows by status: {statuses} {report}"
        assert parked == 0, f"{parked} updates were parked {report}"
        assert len(cases) == VICTIMS, f"{len(cases)} conversations for {VICTIMS} people {report}"

        said_anywhere = Counter(e.text for entries in transcripts.values() for e in entries if e.who == "victim")
        sent, edited = _deliveries(api)
        for person in people:
            chat = person.victim.user_id
            ref = core.keys.pseudonym("telegram", str(chat))
            case = cases[ref]
            where = f"person {chat}, case {case.public_id}"
            assert (case.status, case.case_status) == ("handoff", "queued"), f"{where} {report}"
            # Inbound: everything the person sent is in their transcript, once each, in order; and what
            # they typed (with its unique marker) is in no other transcript.
            said = [entry.text for entry in transcripts[ref] if entry.who == "victim"]
            assert said == person.said, f"{where}: the transcript has {said}, the person sent {person.said} {report}"
            for typed in person.markers():
                assert said_anywhere[typed] == 1, f"{typed!r} is {said_anywhere[typed]} times in transcripts {report}"
            # Outbound: every successful sendMessage is the one delivery of exactly one outbox row, in
            # the outbox's order, and the chat shows each message once.
            delivered = [int(row.message_ref) for row in rows[case.id] if row.kind == "message" and row.message_ref]
            shown = api.bot_messages(chat)
            assert sent[chat] == delivered, f"{where}: sent {sent[chat]}, outbox rows sent {delivered} {report}"
            assert [m.message_id for m in shown] == delivered, f"{where}: {api.dump_chat(chat)} {report}"
            repeated = [text for text, n in Counter(_shown(m) for m in shown).items() if n > 1]
            assert not repeated, f"{where}: shown more than once: {repeated} {report}"
            # Every question answered was closed exactly once, and nothing else was changed.
            assert edited[chat] == Counter(person.answered), (
                f"{where}: edits {dict(edited[chat])}, questions answered {person.answered} {report}"
            )
