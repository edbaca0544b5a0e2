"""Benchmark 1: the whole Accueil bot against a bare aiogram echo bot, on the same fake Bot API.

Both bots run in this process, one after the other, against a fresh
`FakeBotAPI` (real HTTP on 127.0.0.1), polled by the same `Poller`
(bot.channels.telegram.runner) with the same settings. Accueil is assembled by
the test suite's own `testkit.telegram.running_bot` (core, outbox and its retry
loop, staff announcements, dispatcher, poller; no pacing and no flood limit,
which only hold a bot to Telegram's limits) on a fresh SQLite file or
PostgreSQL database, with a staff group (completed intakes are announced
there) and no translation model. N simulated victims (`testkit.telegram.Victim`)
each walk through the whole intake (13 steps: /start, button presses, four
free texts), waiting for the bot's answer before their next step: at once (a
closed loop, the heaviest load N people can make), or after a pause, as a
person reads and types (`think`). The echo bot answers a text with one
`sendMessage`, and a button press with `editMessageText`, `sendMessage` (a new
message with a button) and `answerCallbackQuery`: the Bot API calls Accueil
makes for a step, so that the difference is Accueil's own work (engine,
database, sealing, outbox).

Latency per step (the wait) runs from the moment the victim's update was
pushed to the fake to the moment the bot's message the victim waits for was
created there (the next question, or the closing message after the last
step). Throughput is steps answered per second of wall time. A run stops when
every victim is through or at its time budget, whichever comes first: a step
still waiting then counts in the percentiles with the time it had waited (so
a percentile of a cut-off run is a lower bound) and not in the throughput. At
a person's pace, no step is taken once the budget is spent, and the steps
already taken get `grace` seconds more to be answered.

Besides speed, each run counts what went wrong: warnings and errors the bot
logged (a database busy, an update it could not handle) and messages a victim
received twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import html
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiogram import Bot, Dispatcher, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bench.common import (
    STAFF_GROUP,
    LogCounter,
    bench_settings,
    fresh_postgres_database,
    others_load,
    percentile,
    ready_database,
    sqlite_url,
)
from bot.channels.telegram.runner import Poller, make_bot
from testkit.fake_bot_api import FakeBotAPI, FakeMessage
from testkit.telegram import TOKEN, Victim, running_bot

Kind = Literal["accueil", "echo"]
Instrument = Callable[[], contextlib.AbstractContextManager[Any]]

#: How long the bot may take to stop once the victims are done (the test harness's own limit).
STOP_SECONDS = 10.0
#: A victim waits this long for an answer when the run has no time budget (the echo bot).
PATIENCE = 120.0


@dataclass(frozen=True)
class Step:
    """One thing a victim does: write `value`, or press the button labelled `value`."""

    action: Literal["text", "press"]
    value: str


#: The whole intake in English, as tests/telegram/test_telegram_intake.py walks it (the needs are skipped here:
#: each multiple-choice toggle only edits a keyboard, and every step here ends on a new message).
WALK: tuple[Step, ...] = (
    Step("text", "/start"),
    Step("press", "English"),
    Step("press", "No"),  # not in danger
    Step("press", "Yes"),  # consent
    Step("press", "For myself"),
    Step("press", "Forced or unpaid work"),
    Step("press", "I prefer not"),  # needs
    Step("press", "Someone took them"),  # documents
    Step("text", "Saint-Denis (93)"),  # location
    Step("press", "Here, in this chat"),
    Step("text", "Weekdays after 18:00"),
    Step("press", "I prefer not"),  # interpreter
    Step("text", "I worked in a restaurant kitchen for two years without pay."),  # the last: a closing message
)


@dataclass
class Run:
    """One bot, one database, N victims: what was measured."""

    bot: Kind
    database: str
    victims: int
    #: Seconds after which the victims stop waiting (None: they wait until every step is answered).
    budget: float | None = None
    #: Mean seconds a victim takes to read an answer and act (0: at once; else 0.5 to 1.5 times this).
    think: float = 0.0
    #: Intakes each victim goes through, one after the other (as a new person each time).
    rounds: int = 1
    #: Seconds a step pushed before the end of the budget may still wait for its answer (no new step is pushed).
    grace: float = 0.0
    steps_pushed: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: How long the steps still unanswered at the end of the budget had waited.
    unanswered: list[float] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    #: Warnings and errors the bot logged during the run, by message.
    warnings: dict[str, int] = field(default_factory=dict)
    #: Bot messages identical to an earlier one in the same chat (sent twice).
    duplicates: int = 0
    #: The bot was still busy (retrying updates) `STOP_SECONDS` after the victims were done.
    stop_timed_out: bool = False
    #: CPU that other processes used meanwhile, in cores (the PostgreSQL server's included).
    others: float = 0.0
    #: SQLite only: the database file once the run is over (see `storage_figures`).
    storage: dict[str, Any] | None = None

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def cut_off(self) -> bool:
        return bool(self.unanswered)

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else float("nan")

    def waits(self) -> list[float]:
        """Every step's wait: answered ones, and the unanswered ones as long as they had waited."""
        return self.latencies + self.unanswered

    def p(self, q: float) -> float:
        """The q-th percentile of the wait per step, in milliseconds (a lower bound when cut off)."""
        return percentile(self.waits(), q) * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "database": self.database,
            "victims": self.victims,
            "budget_seconds": self.budget,
            "think_seconds": self.think,
            "rounds": self.rounds,
            "grace_seconds": self.grace,
            "steps_pushed": self.steps_pushed,
            "steps_answered": self.answered,
            "cut_off": self.cut_off,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "cpu_ms_per_step": 1000 * self.cpu_seconds / self.answered if self.answered else None,
            "steps_per_second": self.throughput,
            "wait_p50_ms": self.p(50),
            "wait_p99_ms": self.p(99),
            "wait_max_ms": max(self.waits()) * 1000 if self.waits() else None,
            "api_calls": self.api_calls,
            "warnings": self.warnings,
            "duplicate_messages": self.duplicates,
            "stop_timed_out": self.stop_timed_out,
            "other_processes_cores": self.others,
            "storage": self.storage,
        }


# --- the victims -----------------------------------------------------------------


def _seen_key(message: FakeMessage) -> tuple[str, tuple[str, ...]]:
    return (message.source_text or message.text or "", tuple(message.button_texts))


def _wanted(
    echo: bool, following: Step | None, seen: set[tuple[str, tuple[str, ...]]]
) -> Callable[[FakeMessage], bool]:
    """What the victim waits for: a new question (with the button it will press next), or the closing message.

    A message identical to one received before is not it (the bot sent that one twice).
    """

    def new(message: FakeMessage) -> bool:
        return echo or _seen_key(message) not in seen

    if following is None:
        return new
    if following.action == "text" or echo:
        return lambda m: bool(m.inline_keyboard) and new(m)
    label = following.value.casefold()
    return lambda m: new(m) and any(label in text.casefold() for text in m.button_texts)


async def _walk(api: FakeBotAPI, user_id: int, run: Run, deadline: float) -> None:
    for round_ in range(run.rounds):
        if not await _walk_once(api, user_id + 100_000 * round_, run, deadline):
            return


async def _walk_once(api: FakeBotAPI, user_id: int, run: Run, deadline: float) -> bool:
    """One intake; False when the time budget ran out first."""
    echo = run.bot == "echo"
    victim = Victim(api, user_id, language_code="en")
    seen: set[tuple[str, tuple[str, ...]]] = set()
    last: FakeMessage | None = None
    pause = random.Random(user_id)
    for index, step in enumerate(WALK):
        if run.think:
            await asyncio.sleep(run.think * pause.uniform(0.5, 1.5) if index else run.think * pause.uniform(0, 1))
        if run.grace and time.monotonic() >= deadline:
            return False  # the budget is spent: no new step
        if step.action == "text":
            update_id = victim.write(step.value)
        else:
            assert last is not None
            if echo:
                update_id = api.user_presses(user_id, last.message_id, str(last.buttons[0]["callback_data"]))
            else:
                update_id = victim.press(last, step.value)
        run.steps_pushed += 1
        pushed = api.update_pushed_at(update_id)
        wanted = _wanted(echo, WALK[index + 1] if index + 1 < len(WALK) else None, seen)
        remaining = deadline + run.grace - time.monotonic()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                last = await api.wait_for_bot_message(user_id, wanted, timeout=remaining + 60)
        except TimeoutError:
            run.unanswered.append(time.monotonic() - pushed)
            return False
        seen.add(_seen_key(last))
        run.latencies.append(last.sent_at - pushed)
    return True


async def _drive(api: FakeBotAPI, run: Run, instrument: Instrument) -> None:
    """All victims at once; each waits for every answer before its next step."""
    first_user = 10_000  # then 110_000, 210_000 ... for their later rounds
    gc.collect()  # what earlier runs left behind is collected now, not during this run
    started_clock = time.monotonic()
    deadline = started_clock + (run.budget if run.budget is not None else PATIENCE * len(WALK))
    with others_load() as load, instrument():
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(_walk(api, first_user + i, run, deadline) for i in range(run.victims)))
        run.seconds = time.perf_counter() - started
        run.cpu_seconds = time.process_time() - cpu
    run.others = load.other_cores
    sent: set[str] = set()
    for call in api.calls:
        run.api_calls[call.method] = run.api_calls.get(call.method, 0) + 1
        if run.bot == "accueil" and call.method == "sendMessage" and call.ok:  # the echo bot repeats itself
            key = repr((call.params.get("chat_id"), call.params.get("text"), call.params.get("reply_markup")))
            run.duplicates += key in sent
            sent.add(key)


# --- the bare echo bot -----------------------------------------------------------

_ECHO_KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="OK", callback_data="ok")]])


async def _echo_message(message: Message, bot: Bot) -> None:
    await bot.send_message(
        chat_id=message.chat.id,
        text=html.escape(message.text or "?", quote=False),
        parse_mode="HTML",
        reply_markup=_ECHO_KEYBOARD,
        protect_content=True,
    )


async def _echo_press(query: CallbackQuery, bot: Bot) -> None:
    message = query.message
    if isinstance(message, Message):
        closed = f"{message.text or ''}\n\n→ {query.data}"
        await bot.edit_message_text(
            chat_id=message.chat.id,
            message_id=message.message_id,
            text=html.escape(closed, quote=False),
            parse_mode="HTML",
        )
        await bot.send_message(
            chat_id=message.chat.id,
            text=html.escape(f"pressed {query.data}", quote=False),
            parse_mode="HTML",
            reply_markup=_ECHO_KEYBOARD,
            protect_content=True,
        )
    await query.answer()


def echo_dispatcher() -> Dispatcher:
    router = Router(name="echo")
    router.message.register(_echo_message)
    router.callback_query.register(_echo_press)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


@contextlib.asynccontextmanager
async def running_echo_bot(api: FakeBotAPI) -> AsyncIterator[None]:
    """The echo bot, polled as `testkit.telegram.running_bot` polls Accueil (same Poller, same long-poll timeout)."""
    bot = make_bot(TOKEN, api.base_url)
    stop = asyncio.Event()
    poller = asyncio.create_task(Poller(bot, echo_dispatcher(), timeout=1).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(poller, timeout=STOP_SECONDS)
        await bot.session.close()


# --- running one bot -------------------------------------------------------------


@dataclass
class Database:
    """Where Accueil keeps its data for one run: a new SQLite file, or a new PostgreSQL database."""

    name: Literal["sqlite", "postgres"]
    postgres_server: str | None = None

    @contextlib.asynccontextmanager
    async def fresh(self, folder: Path) -> AsyncIterator[str]:
        if self.name == "sqlite":
            yield sqlite_url(folder)
            return
        assert self.postgres_server is not None
        async with fresh_postgres_database(self.postgres_server) as url:
            yield url


async def run_echo(
    victims: int, counter: LogCounter, *, rounds: int = 1, instrument: Instrument = contextlib.nullcontext
) -> Run:
    run = Run("echo", "-", victims, rounds=rounds)
    async with FakeBotAPI(token=TOKEN) as api, running_echo_bot(api):
        counter.take()
        await _drive(api, run, instrument)
        run.warnings = counter.take()
    return run


async def run_accueil(
    database: Database,
    victims: int,
    counter: LogCounter,
    budget: float | None = None,
    *,
    think: float = 0.0,
    rounds: int = 1,
    grace: float = 0.0,
    instrument: Instrument = contextlib.nullcontext,
) -> Run:
    """The real bot as the Telegram tests run it (polling, outbox retry loop), no translation model.

    `instrument` is entered around the victims' walk only (not the bot's start and stop).
    """
    run = Run("accueil", database.name, victims, budget, think, rounds, grace)
    with tempfile.TemporaryDirectory(prefix="accueil-bench-") as scratch:
        folder = Path(scratch)
        async with database.fresh(folder) as url:
            await ready_database(url)
            settings = bench_settings(folder, url)
            path = folder / "data" / "accueil.db"
            empty = checkpointed_size(path) if database.name == "sqlite" else None
            async with FakeBotAPI(token=TOKEN) as api:
                api.add_group(STAFF_GROUP, "Équipe accueil")
                try:
                    async with running_bot(api, settings):
                        counter.take()
                        await _drive(api, run, instrument)
                except TimeoutError:  # still retrying what the victims gave up on
                    run.stop_timed_out = True
                run.warnings = counter.take()
            if empty is not None:
                run.storage = storage_figures(path, empty)
    return run


# --- what the intakes left in the database (SQLite) -------------------------------------


def checkpointed_size(path: Path) -> int:
    """The SQLite file's size once its write-ahead log is folded in (the bot is not running)."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path.stat().st_size


def storage_figures(path: Path, empty: int) -> dict[str, Any]:
    """File size per completed intake, and which tables hold it (dbstat)."""
    full = checkpointed_size(path)
    connection = sqlite3.connect(path)
    try:
        statuses = dict(connection.execute("SELECT status, count(*) FROM conversations GROUP BY status").fetchall())
        tables = dict(connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    finally:
        connection.close()
    completed = int(statuses.get("handoff", 0)) + int(statuses.get("ended", 0))
    return {
        "statuses": statuses,
        "completed": completed,
        "empty_bytes": empty,
        "file_bytes": full,
        "growth_per_intake": (full - empty) / completed if completed else None,
        "bytes_per_table": {name: int(size) for name, size in sorted(tables.items(), key=lambda item: -int(item[1]))},
    }
