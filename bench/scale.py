"""Benchmark 4: memory with many conversations in progress, resuming after a restart, database size.

Run in a process of its own (``python -m bench.scale CONVERSATIONS INTAKES``,
which `make bench` does), so that resident memory is the bot's and not what
earlier benchmarks left behind. The last line it prints is its result, as JSON.
Everything runs on a fresh SQLite file (the default database); replies go to
an in-process sender that only counts them (no Telegram here), through the
real `Receiver` and `Outbox`.

- Memory: the bot is assembled as `accueil run` assembles it (core, aiogram bot
  and dispatcher, outbox, receiver; not polling) and its resident memory read
  (VmRSS). Then CONVERSATIONS conversations are opened through the real
  `ConversationService.handle` (/start: each waits at the language question),
  250 to a transaction, as the Telegram channel would call it (pseudonymous
  user ids, update keys); their replies are marked delivered in one UPDATE, as
  the outbox would have left them. The last 100 take one step more whose
  replies are left undelivered, as after a crash in the middle of a
  `getUpdates` batch. Memory is read again.
- Resume: the core is closed and a new one built on the same database (with
  the migration check and the start-up checks of `accueil run`); the clock runs
  from there while the outbox's start-up drain (`Outbox.flush_due`) and the
  next step of 100 sampled conversations are applied at the same time, as
  the poller would apply one `getUpdates` batch of 100 chats. A step whose
  `Receiver.receive` raised (the poller would log it, or hold it and retry)
  is retried once every other is done, and counted.
- Size: INTAKES whole intakes (the 13 steps of bench/pipeline.py's walk) on
  another fresh database, one step at a time through `Receiver.receive`; the
  file's growth after a checkpoint, per intake, and which tables hold it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from bench.common import bench_settings, production_logging, ready_database, rss_bytes, sqlite_url
from bench.pipeline import WALK, checkpointed_size, storage_figures
from bot import engine
from bot.app.cli.run import ready_to_serve
from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.channels.base import Inbound, Outcome, OutItem
from bot.channels.telegram.runner import make_bot, make_dispatcher
from bot.clock import utcnow
from bot.conversation.receiver import Receiver
from storage.models import OutboxMessage

CONVERSATIONS = 10_000
INTAKES = 100
BATCH = 250
IN_FLIGHT = 100
SAMPLED = 100
CHANNEL = "telegram"
LANGUAGE = "en"


class CountingSender:
    """Takes every outbox item and gives it a message id, as Telegram would; no I/O."""

    def __init__(self) -> None:
        self.delivered = 0

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        self.delivered += 1
        return str(self.delivered) if item.kind == "message" else None


class Driver:
    """Feeds the conversation service as the Telegram channel does; remembers each person's open question."""

    def __init__(self, core: Core, remember: set[int] | None = None) -> None:
        self.core = core
        self.update_id = 0
        self.asked: dict[int, engine.Ask] = {}
        #: Whose open question to keep (None: everyone's); the others' would weigh in the memory measured.
        self.remember = remember

    def inbound(self, user: int, step: engine.Event) -> Inbound:
        self.update_id += 1
        message = None if isinstance(step, engine.Press) else str(self.update_id)  # as the Telegram handlers do
        return Inbound(CHANNEL, str(user), str(user), step, str(self.update_id), LANGUAGE, message)

    def event(self, user: int, action: str, value: str) -> engine.Event:
        """The engine's event for a step of the walk: a command, a text, or the press of a labelled button."""
        if action == "text":
            return engine.Command(value[1:]) if value.startswith("/") else engine.TextIn(value)
        asked = self.asked[user]
        wanted = value.casefold()
        render = self.core.content.catalogs.render
        for row in asked.buttons:
            for button in row:
                if wanted in render(LANGUAGE, button.label).casefold():
                    return engine.Press(asked.turn, button.value)
        raise LookupError(f"no button {value!r} on the question {asked.step!r}")

    def saw(self, user: int, outcome: Outcome) -> None:
        asked = [effect for effect in outcome.effects if isinstance(effect, engine.Ask)]
        if asked and (self.remember is None or user in self.remember):
            self.asked[user] = asked[-1]


async def _fresh(folder: Path) -> Settings:
    url = sqlite_url(folder)
    await ready_database(url)
    return bench_settings(folder, url)


async def _open(core: Core, driver: Driver, users: Sequence[int], action: str, value: str) -> None:
    """One step for each user, `BATCH` users to a transaction, straight through the service."""
    for start in range(0, len(users), BATCH):
        async with core.sessions.begin() as session:
            for user in users[start : start + BATCH]:
                inbound = driver.inbound(user, driver.event(user, action, value))
                driver.saw(user, await core.service.handle(session, inbound))


async def _mark_delivered(core: Core) -> None:
    async with core.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending")
            .values(status="sent", sent_at=utcnow(), message_ref=OutboxMessage.id, payload_sealed=None)
        )


def _telegram_side(core: Core) -> tuple[Any, Any]:
    """What `accueil run` holds besides the core: an aiogram bot and dispatcher (not polling)."""
    outbox = core.outbox(CountingSender())
    bot = make_bot("123456:BENCH-token", "http://127.0.0.1:9")  # never called
    return bot, make_dispatcher(Receiver(core.service, core.sessions, outbox), core.settings.staff_chat_id)


async def memory_and_resume(conversations: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="accueil-bench-scale-") as scratch:
        settings = await _fresh(Path(scratch))
        core = await build_core(settings)
        bot, dispatcher = _telegram_side(core)
        gc.collect()
        rss_start = rss_bytes()
        users = range(1_000_000, 1_000_000 + conversations)
        in_flight = users[-IN_FLIGHT:]
        sampled = random.Random(7).sample(users[:-IN_FLIGHT], SAMPLED)
        driver = Driver(core, remember={*in_flight, *sampled})
        started = time.perf_counter()
        await _open(core, driver, users, *(WALK[0].action, WALK[0].value))
        await _mark_delivered(core)
        await _open(core, driver, in_flight, WALK[1].action, WALK[1].value)  # replies never delivered: the crash
        setup_seconds = time.perf_counter() - started
        events = {user: driver.event(user, WALK[1].action, WALK[1].value) for user in sampled}
        update_id = driver.update_id
        del driver
        gc.collect()
        rss_loaded = rss_bytes()
        await bot.session.close()
        await core.close()
        del core, bot, dispatcher

        # The restart: everything from here is timed.
        started = time.perf_counter()
        core = await build_core(settings)
        await ready_to_serve(core)
        built = time.perf_counter() - started
        sender = CountingSender()
        outbox = core.outbox(sender)
        receiver = Receiver(core.service, core.sessions, outbox)
        answered: list[float] = []
        failed: dict[int, str] = {}
        inbounds = {
            user: Inbound(CHANNEL, str(user), str(user), events[user], str(update_id + 1 + i), LANGUAGE)
            for i, user in enumerate(sampled)
        }

        async def next_step(user: int) -> None:
            try:
                await receiver.receive(inbounds[user])
            except Exception as exc:  # what the poller would log, or hold and retry
                failed[user] = type(exc).__name__
                return
            answered.append(time.perf_counter() - started)

        drained: list[float] = []

        async def drain() -> None:
            try:
                await outbox.flush_due()
            except Exception as exc:
                failed[0] = type(exc).__name__
            drained.append(time.perf_counter() - started)

        await asyncio.gather(drain(), *(next_step(user) for user in sampled))
        first_pass = len(answered)
        retried = dict(failed)
        for user in [u for u in failed if u != 0]:
            await next_step(user)
        if 0 in failed:
            await drain()
        async with core.sessions() as session:
            pending = await session.scalar(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
        await core.close()
        return {
            "conversations": conversations,
            "setup_seconds": setup_seconds,
            "rss_start_bytes": rss_start,
            "rss_loaded_bytes": rss_loaded,
            "rss_growth_bytes": rss_loaded - rss_start,
            "resume_build_seconds": built,
            "resume_first_answer_seconds": min(answered) if answered else None,
            "resume_all_sampled_seconds": max(answered) if answered else None,
            "resume_drain_seconds": drained[0],
            "resume_done_seconds": max([*answered, *drained]),
            "resume_answered_first_pass": first_pass,
            "resume_failed_first_pass": retried,
            "resume_delivered": sender.delivered,
            "pending_after_resume": int(pending or 0),
        }


async def intake_size(intakes: int) -> dict[str, Any]:
    """The database's growth per completed intake (SQLite), every step through `Receiver.receive`."""
    with tempfile.TemporaryDirectory(prefix="accueil-bench-size-") as scratch:
        folder = Path(scratch)
        settings = await _fresh(folder)
        path = folder / "data" / "accueil.db"
        empty = checkpointed_size(path)
        core = await build_core(settings)
        receiver = Receiver(core.service, core.sessions, core.outbox(CountingSender()))
        driver = Driver(core)
        started = time.perf_counter()
        try:
            for user in range(2_000_000, 2_000_000 + intakes):
                for step in WALK:
                    outcome = await receiver.receive(driver.inbound(user, driver.event(user, step.action, step.value)))
                    driver.saw(user, outcome)
        finally:
            await core.close()
        seconds = time.perf_counter() - started
        figures = storage_figures(path, empty)
        figures["intakes"] = intakes
        figures["seconds"] = seconds
        figures["ms_per_step"] = 1000 * seconds / (intakes * len(WALK))
        return figures


async def main(conversations: int, intakes: int) -> dict[str, Any]:
    production_logging()
    result = await memory_and_resume(conversations)
    result["size"] = await intake_size(intakes)
    return result


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else CONVERSATIONS
    intakes = int(sys.argv[2]) if len(sys.argv) > 2 else INTAKES
    print(json.dumps(asyncio.run(main(count, intakes))))
