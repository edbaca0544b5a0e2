"""Where a step's time goes: metered runs of both bots, one victim at a time (no contention).

Chosen functions are timed while these runs last (`bench.common.Meter`), and
every SQL statement is counted and timed through SQLAlchemy's engine events:

- the update's transaction (`Receiver._apply`: the conversation service, then
  the commit), and inside it the service (`ConversationService.handle`) and
  the transcript (`TranscriptWriter.append`);
- delivering the replies (`Outbox._flush`: reading the queue, the Bot API
  calls, one commit per message), and inside it the Bot API calls
  (`TelegramSender.deliver`);
- aiogram: the whole update (`Dispatcher.feed_update`) and the parsing of the
  Bot API's answers (`BaseSession.check_response`), for the echo bot too;
- every sealing verb of `storage.crypto` the bot calls (the transcript's,
  and the server key's seal, open and pseudonym): their sum is sealing's cost
  per step, for benchmark 3.

The same work is then done once more with aiogram's `Response[...]` models
kept alive (see `keep_response_models`), to measure what pydantic's cache
of generic models costs when the garbage collector empties it.

These runs are slower than the unmetered ones (a wrapper costs a microsecond
or two a call); their figures are milliseconds per step, never a throughput.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Dispatcher
from aiogram.client.session.base import BaseSession
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import pipeline
from bench.common import LogCounter, Meter
from bot.channels.telegram import sender
from bot.conversation.receiver import Receiver
from bot.conversation.service import ConversationService
from bot.outbox.delivery import Outbox
from bot.transcript import writer as transcript
from storage import crypto
from storage.crypto import RecipientPublicKey, ServerKey

#: The sealing verbs, as `bot.transcript.writer` and the service call them.
CRYPTO_VERBS = ("new_chain_key", "wrap_chain_key", "seal_entry", "entry_digest", "next_chain_key")
SERVER_KEY_VERBS = ("seal", "open", "pseudonym")


@dataclass
class SqlMeter:
    """Statements (by their first words) and commits, counted and timed (wall, the driver's thread included)."""

    statements: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))
    commits: int = 0

    def before(self, conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.pop("bench_started", None)
        words = statement.split()
        kind = " ".join(words[:3] if words[:1] in (["INSERT"], ["UPDATE"], ["DELETE"]) else words[:1])
        if words[:1] == ["SELECT"]:
            kind = "SELECT " + next((w for i, w in enumerate(words) if i and words[i - 1] == "FROM"), "?")
        self.statements[kind] += 1
        if started is not None:
            self.seconds[kind] += time.perf_counter() - started

    def commit(self, _conn: Any) -> None:
        self.commits += 1


@dataclass
class Meters:
    """The bot's functions, sealing (every verb of `storage.crypto` the bot calls), and SQL; kept across runs."""

    functions: Meter = field(default_factory=Meter)
    sealing: Meter = field(default_factory=Meter)
    sql: SqlMeter = field(default_factory=SqlMeter)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Everything timed within the block (the victims' walk), put back after."""
        functions, sealing, sql = self.functions, self.sealing, self.sql
        functions.wrap(Dispatcher, "feed_update", "aiogram: whole update (Dispatcher.feed_update)")
        functions.wrap(BaseSession, "check_response", "aiogram: parse a Bot API answer (check_response)")
        functions.wrap(Receiver, "_apply", "the update's transaction (Receiver._apply)")
        functions.wrap(ConversationService, "handle", "   service (ConversationService.handle)")
        functions.wrap(transcript.TranscriptWriter, "append", "      transcript (TranscriptWriter.append)")
        functions.wrap(Outbox, "_flush", "replies delivered (Outbox._flush)")
        functions.wrap(sender.TelegramSender, "deliver", "   Bot API calls (TelegramSender.deliver)")
        for name in CRYPTO_VERBS:
            sealing.wrap(crypto, name, name)
        for name in SERVER_KEY_VERBS:
            sealing.wrap(ServerKey, name, f"ServerKey.{name}")
        sealing.wrap(RecipientPublicKey, "__init__", "RecipientPublicKey (parse)")
        hooks: list[tuple[str, Callable[..., Any]]] = [
            ("before_cursor_execute", sql.before),
            ("after_cursor_execute", sql.after),
            ("commit", sql.commit),
        ]
        for name, hook in hooks:
            event.listen(Engine, name, hook)
        try:
            yield
        finally:
            for name, hook in hooks:
                event.remove(Engine, name, hook)
            sealing.restore()
            functions.restore()


def keep_response_models() -> list[type]:
    """aiogram's `Response[T]` for every Bot API method's result type, built once and held.

    aiogram builds `Response[method.__returning__]` for every answer it parses; pydantic caches
    generic models in a `WeakValueDictionary`, so a model nobody holds is rebuilt (schema and all)
    once the garbage collector has taken it. Holding them is the fix measured here.
    """
    from aiogram import methods  # noqa: PLC0415 - only this experiment needs the whole list
    from aiogram.methods.base import Response  # noqa: PLC0415

    kept: list[type] = []
    for name in dir(methods):
        method = getattr(methods, name)
        returning = getattr(method, "__returning__", None)
        if isinstance(method, type) and returning is not None:
            # A few result types are not pydantic-ready; aiogram never parses those.
            with contextlib.suppress(Exception):
                kept.append(Response[returning])  # type: ignore[valid-type]
    return kept


@dataclass
class Breakdown:
    bot: str
    steps: int
    seconds: float
    functions: dict[str, dict[str, float]]
    sealing: dict[str, dict[str, float]]
    sql: dict[str, dict[str, float]]
    commits_per_step: float
    missing: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "steps": self.steps,
            "wall_ms_per_step": 1000 * self.seconds / self.steps,
            "functions_per_step": self.functions,
            "sealing_per_step": self.sealing,
            "sealing_ms_per_step": sum(v["ms"] for v in self.sealing.values()),
            "sql_per_step": self.sql,
            "commits_per_step": self.commits_per_step,
            "not_found": self.missing,
        }


async def measure(bot: str, intakes: int, counter: LogCounter) -> Breakdown:
    """`intakes` whole intakes, one after the other, every chosen function timed while the victims walk."""
    meters = Meters()
    if bot == "echo":
        run = await pipeline.run_echo(1, counter, rounds=intakes, instrument=meters.installed)
    else:
        database = pipeline.Database("sqlite")
        run = await pipeline.run_accueil(database, 1, counter, rounds=intakes, instrument=meters.installed)
    runs = [run]
    steps = sum(r.answered for r in runs)
    seconds = sum(r.seconds for r in runs)
    sql = meters.sql
    sql_per_step = {
        kind: {"statements": count / steps, "ms": 1000 * sql.seconds[kind] / steps}
        for kind, count in sql.statements.most_common()
    }
    return Breakdown(
        bot,
        steps,
        seconds,
        meters.functions.per(steps),
        meters.sealing.per(steps),
        sql_per_step,
        sql.commits / steps,
        sorted(set(meters.functions.missing + meters.sealing.missing)),
    )


async def with_models_kept_alive(counter: LogCounter, intakes: int) -> tuple[list[pipeline.Run], list[pipeline.Run]]:
    """Accueil, unmetered, `intakes` intakes one after the other: as it is, then with aiogram's Response models held.

    Three times each, in turn; returns (as it is, held).
    """
    plain: list[pipeline.Run] = []
    kept: list[pipeline.Run] = []
    database = pipeline.Database("sqlite")
    for _ in range(3):
        plain.append(await pipeline.run_accueil(database, 1, counter, rounds=intakes))
        held = keep_response_models()
        kept.append(await pipeline.run_accueil(database, 1, counter, rounds=intakes))
        held.clear()
    return plain, kept
