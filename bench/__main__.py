"""`make bench`: every benchmark, several runs each, one table each, and bench/results/latest.json.

    python -m bench [--quick] [--no-postgres] [--out FILE]

Comparisons (Accueil and the echo bot, `ArgosTranslator` and bare CTranslate2)
are made in this one process, run after run, back to back: on a shared, noisy
machine only such ratios mean something. The scale benchmark runs in a child
process (`python -m bench.scale`) so that its memory figures are the bot's
alone. Nothing leaves 127.0.0.1 and nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import breakdown, pipeline, sealing, translation
from bench.common import (
    ROOT,
    LogCounter,
    Row,
    Summary,
    code_version,
    fmt,
    machine,
    others_load,
    postgres_unreachable,
    postgres_url,
    production_logging,
    reference_ms,
    table,
)
from storage.crypto import RecipientPrivateKey

RESULTS = Path(__file__).resolve().parent / "results"
TELEGRAM_PER_SECOND = 30  # messages a bot may send a second, over all chats


@dataclass(frozen=True)
class Plan:
    """How much of everything: the full plan (`make bench`), or a quick one to try the benchmarks out."""

    victims: tuple[int, ...] = (1, 50, 500)
    repeats: dict[int, int] = field(default_factory=lambda: {1: 5, 50: 3, 500: 1})
    #: Seconds an Accueil run may last before its victims stop waiting (the echo bot always finishes).
    budget: dict[int, float] = field(default_factory=lambda: {1: 20.0, 50: 25.0, 500: 20.0})
    #: At a person's pace: this many victims, each taking 0.5 to 1.5 times `think` seconds before a step.
    paced_victims: int = 50
    think: float = 2.0
    paced_budget: float = 20.0
    #: Intakes one after the other in the metered runs (and in each run of the Response-models experiment).
    breakdown_intakes: int = 8
    mt_rounds: int = 4
    mt_texts: int = 24
    mt_sentences: int = 96
    sealing_repeats: int = 5
    conversations: int = 10_000
    intakes: int = 100

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            victims=(1, 10, 30),
            repeats={1: 2, 10: 2, 30: 1},
            budget={1: 10.0, 10: 10.0, 30: 10.0},
            paced_victims=10,
            think=1.0,
            paced_budget=10.0,
            breakdown_intakes=3,
            mt_rounds=2,
            mt_texts=8,
            mt_sentences=32,
            sealing_repeats=3,
            conversations=500,
            intakes=10,
        )

    @property
    def middle(self) -> int:
        """The victim count of the throughput target (50 in the full plan)."""
        return 50 if 50 in self.victims else self.victims[len(self.victims) // 2]

    def to_json(self) -> dict[str, Any]:
        return {
            "victims": list(self.victims),
            "repeats": self.repeats,
            "budget_seconds": self.budget,
            "paced": {"victims": self.paced_victims, "think_seconds": self.think, "budget_seconds": self.paced_budget},
            "breakdown_intakes": self.breakdown_intakes,
            "mt_rounds": self.mt_rounds,
            "conversations": self.conversations,
            "intakes": self.intakes,
        }


def log(message: str) -> None:
    print(message, flush=True)


# --- 1. the pipeline -------------------------------------------------------------------


@dataclass
class PipelineResult:
    runs: list[pipeline.Run]
    databases: list[str]
    paced: list[pipeline.Run]
    echo: breakdown.Breakdown
    accueil: breakdown.Breakdown
    plain: list[pipeline.Run]
    kept: list[pipeline.Run]


async def bench_pipeline(plan: Plan, postgres: str | None, counter: LogCounter) -> PipelineResult:
    databases = [pipeline.Database("sqlite")]
    if postgres is not None:
        databases.append(pipeline.Database("postgres", postgres))
    log("1. Telegram pipeline: warming up (not measured)")
    await pipeline.run_echo(5, counter)
    for database in databases:
        await pipeline.run_accueil(database, 5, counter, budget=10)
    runs: list[pipeline.Run] = []
    for victims in plan.victims:
        for repeat in range(plan.repeats.get(victims, 1)):
            echo = await pipeline.run_echo(victims, counter)
            runs.append(echo)
            line = [f"   N={victims:<4} run {repeat + 1}: echo {echo.throughput:6.1f}/s"]
            for database in databases:
                run = await pipeline.run_accueil(database, victims, counter, plan.budget.get(victims))
                runs.append(run)
                trouble = sum(run.warnings.values()) + run.duplicates
                line.append(
                    f"accueil {database.name} {run.throughput:6.1f}/s"
                    + (f" ({run.answered}/{run.steps_pushed} steps in {run.seconds:.0f} s)" if run.cut_off else "")
                    + (f" [{trouble} warnings/duplicates]" if trouble else "")
                )
            others = max(r.others for r in runs[-1 - len(databases) :])
            log(", ".join(line) + f"; other processes up to {others:.2f} cores")
    log(f"   at a person's pace: {plan.paced_victims} victims taking about {plan.think:.0f} s before each step")
    paced: list[pipeline.Run] = []
    for database in databases:
        run = await pipeline.run_accueil(
            database, plan.paced_victims, counter, plan.paced_budget, think=plan.think, grace=10.0
        )
        paced.append(run)
        log(f"   accueil {database.name}: {run.answered} steps answered in {run.seconds:.0f} s, p99 {run.p(99):.0f} ms")
    log(f"   where the time goes: {plan.breakdown_intakes} intakes of each bot, one after the other, metered")
    echo_parts = await breakdown.measure("echo", plan.breakdown_intakes, counter)
    accueil_parts = await breakdown.measure("accueil", plan.breakdown_intakes, counter)
    log(f"   Accueil as it is, and with aiogram's Response models held: 3 x {plan.breakdown_intakes} intakes each")
    plain, kept = await breakdown.with_models_kept_alive(counter, plan.breakdown_intakes)
    return PipelineResult(runs, [d.name for d in databases], paced, echo_parts, accueil_parts, plain, kept)


def _label(run: pipeline.Run) -> str:
    return "echo" if run.bot == "echo" else f"accueil {run.database}"


def pipeline_rows(result: PipelineResult, plan: Plan) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    for victims in plan.victims:
        at = f"N={victims}"
        echo = [r for r in result.runs if r.bot == "echo" and r.victims == victims]
        for label in ["echo"] + [f"accueil {db}" for db in result.databases]:
            chosen = [r for r in result.runs if _label(r) == label and r.victims == victims]
            if not chosen:
                continue
            cut = sum(r.cut_off for r in chosen)
            bound = " (lower bound)" if cut else ""
            throughput = Summary.of([r.throughput for r in chosen])
            p50 = Summary.of([r.p(50) for r in chosen])
            p99 = Summary.of([r.p(99) for r in chosen])
            cpu = Summary.of([1000 * r.cpu_seconds / r.answered for r in chosen if r.answered])
            name = f"{at} {label}" + (f", cut off at {chosen[0].budget:.0f} s" if cut else "")
            rows += [
                Row(f"{name}: throughput", throughput, "steps/s"),
                Row(f"{at} {label}: wait per step p50{bound}", p50, "ms"),
                Row(f"{at} {label}: wait per step p99{bound}", p99, "ms"),
                Row(f"{at} {label}: CPU per step (this process)", cpu, "ms", 2),
            ]
            figures[f"N={victims} {label}"] = {
                "throughput": throughput.to_json(),
                "p50_ms": p50.to_json(),
                "p99_ms": p99.to_json(),
                "p99_is_lower_bound": bool(cut),
                "cpu_ms_per_step": cpu.to_json(),
                "runs": [r.summary() for r in chosen],
            }
            if label != "echo":
                ratio = Summary.of([a.throughput / e.throughput for a, e in zip(chosen, echo, strict=True)])
                rows.append(Row(f"{at} ratio {label} / echo", ratio, "x throughput", 3))
                figures[f"N={victims} ratio {label.split()[1]}"] = ratio.to_json()
    return rows, figures


def health_rows(result: PipelineResult, plan: Plan) -> tuple[list[str], dict[str, Any]]:
    """What went wrong in the pipeline runs: steps left unanswered, the bot's warnings, messages sent twice."""
    lines = ["", "## 1b. What went wrong in those runs (all repeats together)"]
    figures: dict[str, Any] = {}
    for victims in plan.victims:
        for label in [f"accueil {db}" for db in result.databases] + ["echo"]:
            chosen = [r for r in result.runs if _label(r) == label and r.victims == victims]
            if not chosen:
                continue
            warnings: Counter[str] = Counter()
            for run in chosen:
                warnings.update(run.warnings)
            entry = {
                "steps_pushed": sum(r.steps_pushed for r in chosen),
                "steps_answered": sum(r.answered for r in chosen),
                "runs_cut_off": sum(r.cut_off for r in chosen),
                "duplicate_messages": sum(r.duplicates for r in chosen),
                "runs_not_stopped_in_time": sum(r.stop_timed_out for r in chosen),
                "warnings": dict(warnings),
            }
            figures[f"N={victims} {label}"] = entry
            trouble = [f"{count} x {message!r}" for message, count in warnings.most_common()]
            if entry["duplicate_messages"]:
                trouble.append(f"{entry['duplicate_messages']} messages sent twice to a victim")
            if entry["runs_not_stopped_in_time"]:
                trouble.append(f"{entry['runs_not_stopped_in_time']} runs still retrying updates 10 s after the end")
            lines.append(
                f"- N={victims} {label}: {entry['steps_answered']} of {entry['steps_pushed']} steps answered"
                + (f", {entry['runs_cut_off']} of {len(chosen)} runs cut off" if entry["runs_cut_off"] else "")
                + ("; " + "; ".join(trouble) if trouble else "; nothing went wrong")
            )
    return lines, figures


def paced_rows(result: PipelineResult, plan: Plan) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    for run in result.paced:
        name = f"N={run.victims} accueil {run.database}"
        bound = " (lower bound)" if run.cut_off else ""
        warnings = sum(run.warnings.values())
        rows += [
            Row(f"{name}: steps answered a second", Summary.of([run.throughput]), "steps/s"),
            Row(f"{name}: wait per step p50{bound}", Summary.of([run.p(50)]), "ms"),
            Row(f"{name}: wait per step p99{bound}", Summary.of([run.p(99)]), "ms"),
            Row(f"{name}: warnings logged, messages sent twice", Summary.of([warnings + run.duplicates]), "", 0),
        ]
        figures[f"N={run.victims} accueil {run.database}"] = run.summary()
    return rows, figures


def breakdown_rows(result: PipelineResult) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    for item in (result.echo, result.accueil):
        name = "echo" if item.bot == "echo" else "accueil sqlite"
        data = item.to_json()
        rows.append(Row(f"{name}: wall time per step (metered)", Summary.of([data["wall_ms_per_step"]]), "ms", 2))
        for label, figure in data["functions_per_step"].items():
            calls = figure["calls"]
            rows.append(Row(f"{name}: {label} [{calls:.2f}/step]", Summary.of([figure["ms"]]), "ms/step", 2))
        if item.bot != "echo":
            statements = sum(v["statements"] for v in data["sql_per_step"].values())
            rows.append(Row(f"{name}: SQL statements per step", Summary.of([statements]), "statements", 1))
            rows.append(Row(f"{name}: commits per step", Summary.of([data["commits_per_step"]]), "commits", 2))
            for kind, figure in list(data["sql_per_step"].items())[:8]:
                rows.append(
                    Row(
                        f"{name}:    {kind} [{figure['statements']:.2f}/step]",
                        Summary.of([figure["ms"]]),
                        "ms/step",
                        2,
                    )
                )
            rows.append(Row(f"{name}: sealing (every verb)", Summary.of([data["sealing_ms_per_step"]]), "ms/step", 3))
    plain = Summary.of([r.throughput for r in result.plain])
    kept = Summary.of([r.throughput for r in result.kept])
    gain = Summary.of([k.throughput / p.throughput for p, k in zip(result.plain, result.kept, strict=True)])
    rows += [
        Row("accueil sqlite, intakes one after the other, as it is: throughput", plain, "steps/s"),
        Row("accueil sqlite, the same, aiogram Response models held: throughput", kept, "steps/s"),
        Row("   gain from holding them", gain, "x throughput", 2),
        Row(
            "   CPU per step, as it is",
            Summary.of([1000 * r.cpu_seconds / r.answered for r in result.plain]),
            "ms",
            2,
        ),
        Row(
            "   CPU per step, held",
            Summary.of([1000 * r.cpu_seconds / r.answered for r in result.kept]),
            "ms",
            2,
        ),
    ]
    figures = {
        "echo": result.echo.to_json(),
        "accueil": result.accueil.to_json(),
        "response_models_held": {
            "plain_steps_per_s": plain.to_json(),
            "held_steps_per_s": kept.to_json(),
            "gain": gain.to_json(),
            "plain_runs": [r.summary() for r in result.plain],
            "held_runs": [r.summary() for r in result.kept],
        },
    }
    return rows, figures


# --- 2. translation --------------------------------------------------------------------


async def bench_translation(plan: Plan) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    with translation.scratch() as folder:
        models_dir, package = translation.tiny_model(Path(folder))
        models = [("tiny en-fr", models_dir, package)]
        real_dir, real, looked = translation.real_models()
        if real:
            models.append((f"installed {real[0].from_code}-{real[0].to_code}", real_dir, real[0]))
        else:
            log(f"2. no Argos model installed under {looked} (ACCUEIL_MODELS_DIR): only the tiny model is measured")
        figures["installed_model"] = f"{real[0].from_code}-{real[0].to_code}" if real else None
        for label, directory, chosen in models:
            log(f"2. translation, {label}: {plan.mt_rounds} rounds")
            model = translation.Model.load(label, directory, chosen)
            try:
                await model.translate_all(translation.make_texts(4, 2, seed=1), 1)  # loads the model
                model.bare_batch(model.pieces(translation.make_texts(1, 2, seed=2)[0]))
                one: list[dict[str, float]] = []
                batched: list[dict[str, float]] = []
                per_level: dict[int, list[float]] = {c: [] for c in translation.CONCURRENCY}
                for round_ in range(plan.mt_rounds):
                    seed = 1000 * (round_ + 1)
                    one.append(await translation.overhead_round(model, translation.make_texts(plan.mt_texts, 3, seed)))
                    batched.append(await translation.overhead_round(model, translation.make_texts(64, 3, seed + 1), 32))
                    for level in translation.CONCURRENCY:
                        sentences = translation.make_texts(plan.mt_sentences, 1, seed + 10 + level)
                        per_level[level].append(await translation.concurrency_round(model, sentences, level))
            finally:
                model.close()
            argos = Summary.of([r["sentences"] / r["argos_s"] for r in one])
            bare = Summary.of([r["sentences"] / r["bare_s"] for r in one])
            overhead = Summary.of([r["argos_s"] / r["bare_s"] for r in one])
            spm = Summary.of([r["sentencepiece_s"] / r["bare_s"] for r in one])
            overhead32 = Summary.of([r["argos_s"] / r["bare_s"] for r in batched])
            levels = {c: Summary.of(v) for c, v in per_level.items()}
            gain = Summary.of([b / a for a, b in zip(per_level[1], per_level[32], strict=True)])
            rows += [
                Row(f"{label}: ArgosTranslator, one text at a time", argos, "sentences/s"),
                Row(f"{label}: bare translate_batch, same tokens", bare, "sentences/s"),
                Row(f"{label}: overhead, one text at a time", overhead, "x time", 2),
                Row(f"{label}:    of which SentencePiece both ways", spm, "x bare time", 2),
                Row(f"{label}: overhead, 32 texts gathered", overhead32, "x time", 2),
                *[Row(f"{label}: {c} conversation(s) at once", levels[c], "sentences/s") for c in levels],
                Row(f"{label}: batching gain, 32 vs 1", gain, "x throughput", 2),
            ]
            figures[label] = {
                "argos_sentences_per_s": argos.to_json(),
                "bare_sentences_per_s": bare.to_json(),
                "overhead": overhead.to_json(),
                "sentencepiece_share_of_bare": spm.to_json(),
                "overhead_32_gathered": overhead32.to_json(),
                "concurrency": {str(c): s.to_json() for c, s in levels.items()},
                "gain_32_vs_1": gain.to_json(),
                "rounds": {"one_at_a_time": one, "gathered_32": batched},
            }
    return rows, figures


# --- 3. sealing ------------------------------------------------------------------------


def bench_sealing(plan: Plan, result: PipelineResult) -> tuple[list[Row], dict[str, Any]]:
    log("3. sealing")
    recipients = [RecipientPrivateKey.generate() for _ in range(10)]
    repeats = plan.sealing_repeats
    entry = Summary.of([sealing.per_entry() * 1e6 for _ in range(repeats)])
    wraps = {
        n: Summary.of([sealing.per_conversation(recipients[:n], 20) * 1e3 for _ in range(repeats)]) for n in (1, 3, 10)
    }
    read = Summary.of([sealing.per_read(recipients[0]) * 1e3 for _ in range(repeats)])
    server = Summary.of([sealing.server_key_seal_open() * 1e6 for _ in range(repeats)])
    metered = result.accueil.to_json()
    per_step = metered["sealing_ms_per_step"]
    wall = metered["wall_ms_per_step"]
    sqlite_runs = [r for r in result.runs if r.bot == "accueil" and r.database == "sqlite" and r.victims == 1]
    step_ms = Summary.of([r.p(50) for r in sqlite_runs]).median
    cpu_ms = Summary.of([1000 * r.cpu_seconds / r.answered for r in sqlite_runs]).median
    rows = [
        Row("per entry: seal to the epoch key + digest", entry, "µs"),
        *[Row(f"per conversation: case key pair wrapped to {n} recipient(s)", s, "ms", 3) for n, s in wraps.items()],
        Row("per transcript read: unwrap + open 40 entries", read, "ms", 2),
        Row("server key: seal + open a 400-byte working state", server, "µs"),
        Row("in the bot: sealing per step, every verb (metered run)", Summary.of([per_step]), "ms", 3),
        Row(f"   share of the metered wall time per step ({wall:.1f} ms)", Summary.of([100 * per_step / wall]), "%", 2),
        Row(f"   share of the step's wait, N=1 p50 ({step_ms:.1f} ms)", Summary.of([100 * per_step / step_ms]), "%", 2),
        Row(f"   share of the CPU per step, N=1 ({cpu_ms:.1f} ms)", Summary.of([100 * per_step / cpu_ms]), "%", 2),
    ]
    figures = {
        "per_entry_us": entry.to_json(),
        "wrap_ms": {str(n): s.to_json() for n, s in wraps.items()},
        "read_40_entries_ms": read.to_json(),
        "server_key_seal_open_us": server.to_json(),
        "in_pipeline": {
            "sealing_ms_per_step": per_step,
            "verbs": metered["sealing_per_step"],
            "metered_wall_ms_per_step": wall,
            "step_p50_ms_at_1": step_ms,
            "cpu_ms_per_step_at_1": cpu_ms,
        },
    }
    return rows, figures


# --- 4. scale --------------------------------------------------------------------------


def bench_scale(plan: Plan) -> tuple[list[Row], dict[str, Any]]:
    log(f"4. scale: {plan.conversations:,} conversations and {plan.intakes} whole intakes, in a process of its own")
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", str(plan.conversations), str(plan.intakes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.scale failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_start_seconds"] = process_start()
    mib = 1024 * 1024
    size = result["size"]

    def one(value: float | None) -> Summary:
        return Summary.of([float("nan") if value is None else value])

    failed = Counter(result["resume_failed_first_pass"].values())
    rows = [
        Row("RSS at start-up (core, aiogram bot, dispatcher)", one(result["rss_start_bytes"] / mib), "MiB"),
        Row(
            f"RSS with {result['conversations']:,} conversations in progress",
            one(result["rss_loaded_bytes"] / mib),
            "MiB",
        ),
        Row("   growth beyond start-up", one(result["rss_growth_bytes"] / mib), "MiB"),
        Row("   (time to open them through the service)", one(result["setup_seconds"]), "s"),
        Row("resume: a new process, to the bot's modules imported", one(result["process_start_seconds"] * 1000), "ms"),
        Row("resume: new core built and checked", one(result["resume_build_seconds"] * 1000), "ms"),
        Row("resume: first of 100 waiting chats answered", one(_ms(result["resume_first_answer_seconds"])), "ms"),
        Row("resume: all 100 answered (failures retried after)", one(_ms(result["resume_all_sampled_seconds"])), "ms"),
        Row("resume: start-up outbox drain done", one(result["resume_drain_seconds"] * 1000), "ms"),
        Row("resume: chats that failed at the first attempt", one(sum(failed.values())), "of 100", 0),
        Row(
            f"database per completed intake (SQLite, {size['completed']} intakes)",
            one(size["growth_per_intake"] / 1024),
            "KiB",
        ),
        *[
            Row(f"   of which {name}", one(bytes_ / size["completed"] / 1024), "KiB")
            for name, bytes_ in list(size["bytes_per_table"].items())[:6]
        ],
        Row("   (time per step, one at a time, no Telegram)", one(size["ms_per_step"]), "ms", 2),
    ]
    result["resume_failed_first_pass_by_error"] = dict(failed)
    return rows, result


def process_start() -> float:
    """Seconds for a new Python process to import what `accueil run` imports before it builds the core (best of 2)."""
    modules = (
        "import bot.app.cli, bot.channels.telegram.runner, bot.channels.telegram.sender, bot.channels.telegram.pacing"
    )
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", modules], cwd=ROOT, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# --- targets ---------------------------------------------------------------------------


def targets(figures: dict[str, Any], plan: Plan) -> list[str]:
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    pipe = figures["pipeline"]
    mid = plan.middle
    for db in figures["pipeline_databases"]:
        ratio = pipe[f"N={mid} ratio {db}"]["median"]
        lines.append(
            f"- Accueil ({db}) / echo throughput at N={mid} >= 0.6: {ratio:.3f} "
            f"({verdict(ratio >= 0.6)}{'' if ratio >= 0.6 else f', {0.6 / ratio:.0f}x short'})"
        )
        runs = pipe[f"N={mid} accueil {db}"]["runs"]
        speed = pipe[f"N={mid} accueil {db}"]["throughput"]["median"]
        sent = statistics.median(r["api_calls"].get("sendMessage", 0) / r["seconds"] for r in runs)
        lines.append(
            f"  (Accueil {db} at N={mid}: {speed:.1f} steps/s, sending {sent:.1f} messages/s; Telegram lets a bot "
            f"send {TELEGRAM_PER_SECOND} a second overall: {sent / TELEGRAM_PER_SECOND:.2f}x that)"
        )
    for victims in plan.victims:
        entry = pipe[f"N={victims} accueil sqlite"]
        p99 = entry["p99_ms"]["median"]
        bound = " or more (runs cut off)" if entry["p99_is_lower_bound"] else ""
        short = "" if p99 < 50 else f", {p99 / 50:.0f}x over"
        lines.append(
            f"- p99 wait per step < 50 ms on SQLite, N={victims}: {fmt(p99)} ms{bound} ({verdict(p99 < 50)}{short})"
        )
    for name, entry in figures["paced"].items():
        if entry["database"] != "sqlite":
            continue
        p99 = entry["wait_p99_ms"]
        lines.append(
            f"- (beside the targets) p99 wait per step < 50 ms on SQLite at a person's pace, {name}: {fmt(p99)} ms"
            f"{' or more (cut off)' if entry['cut_off'] else ''} ({verdict(p99 < 50)})"
        )
    for label, data in figures["translation"].items():
        if not isinstance(data, dict):
            continue
        overhead = data["overhead"]["median"]
        gain = data["gain_32_vs_1"]["median"]
        lines.append(f"- {label}: translator overhead <= 1.2x: {overhead:.2f}x ({verdict(overhead <= 1.2)})")
        lines.append(f"- {label}: batching gain at 32 >= 3x: {gain:.2f}x ({verdict(gain >= 3)})")
    growth = figures["scale"]["rss_growth_bytes"] / 1e6
    lines.append(
        f"- RSS beyond start-up with {figures['scale']['conversations']:,} conversations < 200 MB: "
        f"{growth:.1f} MB ({verdict(growth < 200)})"
    )
    return lines


# --- main ------------------------------------------------------------------------------


async def run(plan: Plan, use_postgres: bool, out: list[str]) -> dict[str, Any]:
    counter = production_logging()
    figures: dict[str, Any] = {}
    postgres: str | None = None
    if use_postgres:
        url = postgres_url()
        reason = postgres_unreachable(url)
        if reason is None:
            postgres = url
            where = url.split("@")[-1]
            log(f"PostgreSQL: {where} answers; Accueil runs on it too (a fresh database a run, dropped after)")
        else:
            log(f"PostgreSQL SKIPPED: {reason} (set ACCUEIL_BENCH_POSTGRES_URL to a server on 127.0.0.1)")
            figures["postgres_skipped"] = reason
    else:
        figures["postgres_skipped"] = "--no-postgres"
    loads: dict[str, dict[str, float]] = {}
    speed: dict[str, float] = {"start": reference_ms()}

    def show(title: str, rows: list[Row]) -> None:
        lines = table(title, rows)
        out.extend(lines)
        for line in lines:
            log(line)

    with others_load() as load:
        result = await bench_pipeline(plan, postgres, counter)
    loads["1. pipeline (the PostgreSQL server counts as another process)"] = {
        "seconds": load.seconds,
        "other_cores": load.other_cores,
    }
    speed["after 1. pipeline"] = reference_ms()
    rows, figures["pipeline"] = pipeline_rows(result, plan)
    figures["pipeline_databases"] = result.databases
    show("1. Telegram pipeline: Accueil vs a bare aiogram echo bot (same fake Bot API, same Poller)", rows)
    lines, figures["pipeline_health"] = health_rows(result, plan)
    out.extend(lines)
    for line in lines:
        log(line)
    rows, figures["paced"] = paced_rows(result, plan)
    show(
        f"1c. At a person's pace: {plan.paced_victims} victims, each {plan.think * 0.5:g} to "
        f"{plan.think * 1.5:g} s before a step, for {plan.paced_budget:.0f} s",
        rows,
    )
    rows, figures["breakdown"] = breakdown_rows(result)
    show("1d. Where a step's time goes (intakes one after the other, every function timed; SQLite)", rows)

    with others_load() as load:
        rows, figures["translation"] = await bench_translation(plan)
    loads["2. translation"] = {"seconds": load.seconds, "other_cores": load.other_cores}
    speed["after 2. translation"] = reference_ms()
    show("2. Translation: ArgosTranslator vs bare CTranslate2 (int8, beam 2, cache off)", rows)

    with others_load() as load:
        rows, figures["sealing"] = bench_sealing(plan, result)
    loads["3. sealing"] = {"seconds": load.seconds, "other_cores": load.other_cores}
    speed["after 3. sealing"] = reference_ms()
    show("3. Sealing (hybrid ML-KEM-768 + X25519 HPKE, AES-256-GCM)", rows)

    with others_load() as load:
        rows, figures["scale"] = bench_scale(plan)
    loads["4. scale"] = {"seconds": load.seconds, "other_cores": load.other_cores}
    speed["after 4. scale"] = reference_ms()
    show("4. Scale (SQLite)", rows)

    figures["targets"] = targets(figures, plan)
    figures["sections"] = loads
    figures["reference_ms"] = speed
    figures["busiest_run_other_cores"] = max(r.others for r in result.runs if r.database != "postgres")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the benchmarks out (a minute or two)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan()
    started = time.perf_counter()
    info = machine()
    info["code"] = code_version()
    log(
        f"Accueil benchmarks ({'quick' if args.quick else 'full'}) of {info['code']} on {info['cpus']} CPUs "
        f"({info['cpu_model']}), {info['memory_bytes'] / 2**30:.1f} GiB, Python {sys.version.split()[0]}"
    )
    out: list[str] = []
    figures = asyncio.run(run(plan, not args.no_postgres, out))
    elapsed = time.perf_counter() - started
    tail = ["", "## Targets", *figures["targets"], "", "## The machine meanwhile"]
    tail += [
        f"- {name}: {load['seconds']:.0f} s; other processes used {load['other_cores']:.2f} cores meanwhile"
        for name, load in figures["sections"].items()
    ]
    tail.append(
        "- reference work (pure Python, best of 5), ms: "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in figures["reference_ms"].items())
    )
    speeds = figures["reference_ms"].values()
    if max(speeds) > 1.25 * min(speeds):
        tail.append("- WARNING: the machine's speed changed by more than 25% during the run: figures are disturbed")
    busiest = figures["busiest_run_other_cores"]
    if busiest > 0.5:
        tail.append(f"- WARNING: during one pipeline run other processes kept {busiest:.2f} cores busy")
    tail += ["", f"wall time: {elapsed:.0f} s"]
    for line in tail:
        log(line)
    figures["machine"] = info
    figures["plan"] = {"quick": args.quick, **plan.to_json()}
    figures["wall_seconds"] = elapsed
    figures["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["python"] = sys.version
    figures["printed"] = out + tail
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    log(f"written: {os.path.relpath(args.out, ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
