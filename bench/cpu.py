"""CPU per step alone: the echo bot and Accueil on SQLite, N victims at once, run after run.

    .venv/bin/python -m bench.cpu                 # N=50, 3 runs of each, after a warm-up
    .venv/bin/python -m bench.cpu --victims 50 --runs 5

The pipeline section of `make bench` (benchmark 1) cut down to what issue 13
measures: process CPU time per step answered (less sensitive to other
processes on the machine than wall time), throughput, and the ratio of
Accueil's throughput to the echo bot's, each run printed and then the median,
minimum and maximum. Nothing is written to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench import pipeline
from bench.common import Summary, production_logging


def _line(name: str, summary: Summary, unit: str, digits: int = 2) -> str:
    return f"{name:<34} {summary.median:8.{digits}f} {summary.min:8.{digits}f} {summary.max:8.{digits}f}  {unit}"


async def measure(victims: int, runs: int) -> list[str]:
    counter = production_logging()
    await pipeline.run_echo(5, counter)
    await pipeline.run_accueil(pipeline.Database("sqlite"), 5, counter, budget=10)
    echo: list[pipeline.Run] = []
    accueil: list[pipeline.Run] = []
    for number in range(runs):
        echo.append(await pipeline.run_echo(victims, counter))
        accueil.append(await pipeline.run_accueil(pipeline.Database("sqlite"), victims, counter, 25.0))
        e, a = echo[-1], accueil[-1]
        trouble = sum(a.warnings.values()) + a.duplicates
        print(
            f"run {number + 1}: echo {1000 * e.cpu_seconds / e.answered:.2f} ms CPU/step {e.throughput:.1f}/s; "
            f"accueil {1000 * a.cpu_seconds / max(a.answered, 1):.2f} ms CPU/step {a.throughput:.1f}/s "
            f"({a.answered}/{a.steps_pushed} steps, {trouble} warnings/duplicates, "
            f"other processes {a.others:.2f} cores)",
            flush=True,
        )

    def cpu(runs_: list[pipeline.Run]) -> Summary:
        return Summary.of([1000 * r.cpu_seconds / r.answered for r in runs_ if r.answered])

    ratio = Summary.of([a.throughput / e.throughput for e, a in zip(echo, accueil, strict=True)])
    return [
        f"N={victims}, {runs} runs each                    median      min      max",
        _line("echo: CPU per step", cpu(echo), "ms"),
        _line("accueil sqlite: CPU per step", cpu(accueil), "ms"),
        _line("echo: throughput", Summary.of([r.throughput for r in echo]), "steps/s", 1),
        _line("accueil sqlite: throughput", Summary.of([r.throughput for r in accueil]), "steps/s", 1),
        _line("ratio accueil / echo", ratio, "x throughput", 3),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--victims", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    for line in asyncio.run(measure(args.victims, args.runs)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
