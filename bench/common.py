"""What every benchmark shares: statistics, the printed table, settings, PostgreSQL, the machine's load.

The bot is assembled, and its databases made, by the test suite's own helpers
(`testkit.databases`, `testkit.telegram`), so that the benchmarks measure the bot the
tests check and follow it when it changes.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
import os
import socket
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.app.logs import JsonFormatter
from bot.app.settings import Settings, load_settings
from storage.crypto import RecipientPrivateKey
from testkit.databases import create_postgres_database, drop_postgres_database, register_recipient

ROOT = Path(__file__).resolve().parent.parent

#: The staff group (a Telegram group chat id): completed intakes are announced there, as in production.
STAFF_GROUP = -1_001_234_567_890

#: The PostgreSQL server tried when ACCUEIL_BENCH_POSTGRES_URL is not set (the one `make test-postgres` uses).
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


# --- numbers ---------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """One figure measured several times: its median, minimum and maximum."""

    median: float
    min: float
    max: float
    runs: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            nan = float("nan")
            return cls(nan, nan, nan, ())
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    def to_json(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, "runs": list(self.runs)}


def fmt(value: float, digits: int = 1) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


@dataclass
class Row:
    """A line of the printed table: a figure (median, min, max over the runs) and its unit."""

    name: str
    summary: Summary
    unit: str
    digits: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "unit": self.unit, **self.summary.to_json()}


def table(title: str, rows: Sequence[Row]) -> list[str]:
    """The lines of a table: one figure a row, with its median, min and max over the runs."""
    width = max([len(r.name) for r in rows] + [10])
    lines = ["", f"## {title}", f"{'':{width}}  {'median':>9}  {'min':>9}  {'max':>9}  unit"]
    for row in rows:
        s = row.summary
        if len(s.runs) == 1:
            low = high = "-"
        else:
            low, high = fmt(s.min, row.digits), fmt(s.max, row.digits)
        lines.append(f"{row.name:{width}}  {fmt(s.median, row.digits):>9}  {low:>9}  {high:>9}  {row.unit}")
    return lines


# --- the process -----------------------------------------------------------------


def rss_bytes() -> int:
    """Resident memory of this process (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class LogCounter(logging.Handler):
    """Counts the warnings and errors the bot logs (what went wrong during a run, not its words)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname.lower()}: {record.msg}"] += 1

    def take(self) -> dict[str, int]:
        """What was counted since the last call."""
        counts, self.counts = dict(self.counts), collections.Counter()
        return counts


def production_logging() -> LogCounter:
    """Logs as `accueil run` makes them (JSON lines at INFO), written to /dev/null: their cost counts.

    Returns the counter of warnings and errors, installed beside them.
    """
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    handler.setFormatter(JsonFormatter())
    counter = LogCounter()
    root = logging.getLogger()
    root.handlers[:] = [handler, counter]
    root.setLevel(logging.INFO)
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    return counter


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_bytes": memory}


def code_version() -> str:
    """The commit measured, with `-dirty` when the work tree has changes (`git describe`)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown (no git)"
    return done.stdout.strip() or "unknown (not a git work tree)"


# --- Accueil in a scratch folder -------------------------------------------------


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'data' / 'accueil.db'}"


def bench_settings(folder: Path, database_url: str, models_dir: Path | None = None) -> Settings:
    """Settings for a bot living in `folder`; translation models from `models_dir` (none: an empty folder)."""
    data_dir = folder / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if models_dir is None:
        models_dir = folder / "no-models"
        models_dir.mkdir(exist_ok=True)
    return load_settings(
        {
            "ACCUEIL_DATA_DIR": str(data_dir),
            "ACCUEIL_DATABASE_URL": database_url,
            "ACCUEIL_MODELS_DIR": str(models_dir),
            "ACCUEIL_STAFF_CHAT_ID": str(STAFF_GROUP),
            # As the tests have it: what the person is told at the handoff does not depend on the hour.
            "ACCUEIL_OFFICE_HOURS": "always",
        }
    )


async def ready_database(url: str) -> None:
    """Migrated, with one recipient key registered (the bot refuses to start without one)."""
    await register_recipient(url, RecipientPrivateKey.generate())


# --- PostgreSQL ------------------------------------------------------------------


def postgres_url() -> str:
    return os.environ.get("ACCUEIL_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def postgres_unreachable(url: str) -> str | None:
    """Why the PostgreSQL benchmarks cannot run (None when the server answers on loopback)."""
    parsed = make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or 5432
    if host not in ("127.0.0.1", "localhost", "::1"):
        return f"{host} is not a loopback address; benchmarks stay on 127.0.0.1"
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or exc})"
    return None


@contextlib.asynccontextmanager
async def fresh_postgres_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_url` (made by the tests' helper), dropped afterwards."""
    url, name = await create_postgres_database(server_url)
    try:
        yield url
    finally:
        await drop_postgres_database(server_url, name)


# --- other work on the machine ---------------------------------------------------------


def _busy_seconds() -> float:
    """CPU seconds this machine's processors have been busy since boot (all processes)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds used by this process and the children it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Load:
    """CPU that other processes used while a block ran, in cores (1.0: one core kept busy).

    It includes the PostgreSQL server when a block talks to it.
    """

    seconds: float = 0.0
    other_cores: float = 0.0
    own_cpu_seconds: float = 0.0


@contextlib.contextmanager
def others_load() -> Iterator[Load]:
    load = Load()
    busy, own, started = _busy_seconds(), _own_seconds(), time.perf_counter()
    try:
        yield load
    finally:
        load.seconds = time.perf_counter() - started
        load.own_cpu_seconds = _own_seconds() - own
        other = (_busy_seconds() - busy) - load.own_cpu_seconds
        load.other_cores = max(0.0, other / load.seconds) if load.seconds > 0 else 0.0


def reference_ms() -> float:
    """Milliseconds for a fixed piece of pure-Python work (best of five): how fast the machine is right now.

    The same figure at the start and after each benchmark says the machine kept its speed; a larger one
    says something else (another process, another virtual machine on the same host) took CPU from us.
    """
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(300_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


# --- instruments -------------------------------------------------------------------------


@dataclass
class Meter:
    """Times calls of chosen functions while installed; everything is put back on exit.

    Only for the metered runs, whose figures are the breakdown (never the throughput tables):
    the wrappers cost a microsecond or two a call themselves.
    """

    seconds: dict[str, float] = field(default_factory=lambda: collections.defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: collections.defaultdict(int))
    missing: list[str] = field(default_factory=list)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Time `owner.name` (a function, coroutine function or method) under `label`, if it exists."""
        own = not isinstance(owner, type) or name in owner.__dict__  # False: inherited, deleted again on restore
        original = owner.__dict__.get(name) if isinstance(owner, type) and own else getattr(owner, name, None)
        if original is None:
            self.missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return
        function = original.__func__ if isinstance(original, staticmethod | classmethod) else original
        seconds, calls = self.seconds, self.calls

        if inspect.iscoroutinefunction(function):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - started
                    calls[label] += 1

            wrapper: Any = timed_async
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    seconds[label] += time.perf_counter() - started
                    calls[label] += 1

            wrapper = timed
        if isinstance(original, staticmethod):
            wrapper = staticmethod(wrapper)
        elif isinstance(original, classmethod):
            wrapper = classmethod(wrapper)
        setattr(owner, name, wrapper)
        self._undo.append(lambda: setattr(owner, name, original) if own else delattr(owner, name))

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def per(self, count: int) -> dict[str, dict[str, float]]:
        """Milliseconds and calls per unit of work (an update, a message), by label."""
        return {
            label: {"ms": 1000 * self.seconds[label] / count, "calls": self.calls[label] / count}
            for label in self.seconds
        }
