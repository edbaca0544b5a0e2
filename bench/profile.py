"""A steady load to profile, and a summary of the profile by package.

    pip install py-spy    # not a dependency of Accueil: into the venv, for this only
    py-spy record -r 200 --threads --format raw -o /tmp/accueil.prof -- .venv/bin/python -m bench.profile run 30
    .venv/bin/python -m bench.profile summary /tmp/accueil.prof

`run INTAKES` is Accueil on SQLite as benchmark 1 runs it, one victim going
through INTAKES intakes one after the other (13 steps each): no contention,
so a sample is a step's own work; it writes how many steps were answered to
bench/results/profile-steps.txt, where `summary` reads it. `summary` counts the
main thread's samples taken while the victims walked (start-up and the
database's creation left out, and so is the event loop waiting in `select`),
by the package of the innermost frame, and by the innermost frame of Accueil's
own code (bot/, storage/) on the stack. SQLAlchemy runs its work in greenlets,
whose samples lose the caller: they count under "outside Accueil's code".
"""

from __future__ import annotations

import asyncio
import collections
import re
import sys
from pathlib import Path

from bench import pipeline
from bench.common import production_logging

#: Frames that belong to start-up, the database's creation or the run's end, not to a step.
_NOT_A_STEP = (
    "_find_and_load",
    "build_core",
    "register_recipient",
    "ready_database",
    "publish_commands",
    "storage_figures",
    "checkpointed_size",
    "TemporaryDirectory",
    "run_sync",
)
_PACKAGES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "aiogram",
    "pydantic_core",
    "pydantic",
    "aiohttp",
    "yarl",
    "multidict",
    "cryptography",
    "greenlet",
    "testkit",
    "bot",
    "storage",
    "bench",
    "tests",
    "asyncio",
    "json",
    "logging",
)


async def _run(intakes: int) -> int:
    counter = production_logging()
    run = await pipeline.run_accueil(pipeline.Database("sqlite"), 1, counter, rounds=intakes)
    print(
        f"steps {run.answered}, {run.throughput:.1f} steps/s, {1000 * run.cpu_seconds / run.answered:.1f} ms CPU a step"
    )
    return run.answered


def _package(frame: str) -> str:
    where = re.search(r"\(([^)]*)\)", frame)
    path = where.group(1) if where else ""
    for name in _PACKAGES:
        if path.startswith(name + "/") or f"/{name}/" in path or path.startswith(name + "."):
            return name
    return "(no Python frame: the interpreter, the garbage collector)" if not path else "other"


def summary(profile: Path, steps: int, rate: int = 200) -> list[str]:
    by_package: collections.Counter[str] = collections.Counter()
    by_ours: collections.Counter[str] = collections.Counter()
    busy = idle = 0
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if "MainThread" not in frames[0] or any(name in stack for name in _NOT_A_STEP):
            continue
        samples = int(count)
        if "select (selectors" in frames[-1] or "EpollSelector.select" in frames[-1]:
            idle += samples
            continue
        busy += samples
        by_package[_package(frames[-1]) if len(frames) > 1 else _package("")] += samples
        ours = next((f for f in reversed(frames[1:]) if _package(f) in ("bot", "storage")), None)
        by_ours[re.sub(r":\d+\)", ")", ours) if ours else "outside Accueil's code"] += samples

    def ms(samples: int) -> float:
        return 1000 * samples / rate / steps

    lines = [f"main thread busy {ms(busy):.1f} ms a step, waiting in select {ms(idle):.1f} ms a step", "by package:"]
    lines += [f"  {ms(n):6.2f} ms {100 * n / busy:5.1f}%  {name}" for name, n in by_package.most_common(15)]
    lines.append("by the innermost frame of Accueil's own code on the stack:")
    lines += [f"  {ms(n):6.2f} ms {100 * n / busy:5.1f}%  {name}" for name, n in by_ours.most_common(15)]
    return lines


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "run":
        steps = asyncio.run(_run(int(argv[1]) if len(argv) > 1 else 30))
        Path("bench/results/profile-steps.txt").write_text(f"{steps}\n")
        return 0
    if len(argv) >= 2 and argv[0] == "summary":
        steps = int(argv[2]) if len(argv) > 2 else int(Path("bench/results/profile-steps.txt").read_text())
        for line in summary(Path(argv[1]), steps):
            print(line)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
