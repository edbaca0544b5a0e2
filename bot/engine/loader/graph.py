"""Pass 3: the graph of steps.

Every target exists, every step is reachable from the start, every answer has
somewhere to go, every answer a branch tests is saved by some step, and no
loop runs without asking a question.
"""

from __future__ import annotations

from bot.engine.loader.problems import Problems
from bot.engine.model import DEFAULT, SKIP, TERMINAL_KINDS, Dialog, Step, StepKind
from bot.errors import EndlessLoopError, MissingBranchError, UnknownStepError, UnreachableStepError


def check_graph(dialog: Dialog, problems: Problems) -> None:
    if dialog.start not in dialog.steps:
        problems.fail(UnknownStepError, f"`start` names step {dialog.start!r}, which does not exist", line=1)
    saved = {s.save for s in dialog.steps.values() if s.save}
    for step in dialog.steps.values():
        _check_targets(dialog, step, problems)
        if step.kind in TERMINAL_KINDS:
            continue
        _check_routes(step, problems)
        _check_tested_answers(step, saved, problems)
    reachable = _reachable(dialog)
    for step in dialog.steps.values():
        if step.id not in reachable:
            problems.fail(
                UnreachableStepError, "no path from the start reaches this step", step=step.id, line=step.line
            )
    _check_silent_loops(dialog, problems)


def _check_targets(dialog: Dialog, step: Step, problems: Problems) -> None:
    for target in step.targets():
        if target not in dialog.steps:
            problems.fail(
                UnknownStepError, f"leads to step {target!r}, which does not exist", step=step.id, line=step.line
            )


def _check_tested_answers(step: Step, saved: set[str], problems: Problems) -> None:
    for case in step.cases:
        for cond in case.when:
            if cond.answer not in saved:
                problems.fail(
                    UnknownStepError, f"tests answer {cond.answer!r}, which no step saves", step=step.id, line=cond.line
                )


def _answers(step: Step) -> set[str] | None:
    """The answers a step's `next` mapping may name; None for a kind that takes one `next`."""
    if step.kind == StepKind.YES_NO:
        return {"yes", "no", SKIP}
    if step.kind == StepKind.SINGLE_CHOICE:
        return {o.value for o in step.options} | {SKIP}
    return None


def _check_routes(step: Step, problems: Problems) -> None:
    if not step.routes:
        return
    expected = _answers(step)
    if expected is None:
        problems.fail(
            MissingBranchError,
            f"a {step.kind.value} step takes one `next` step; use a branch step to choose",
            step=step.id,
            line=step.line,
        )
        return
    keys = [k for k, _ in step.routes]
    for key in keys:
        if key not in expected | {DEFAULT}:
            problems.fail(
                MissingBranchError,
                f"`next` names {key!r}, which is not an answer of this step",
                step=step.id,
                line=step.line,
            )
    if DEFAULT not in keys:
        for missing in sorted(expected - set(keys)):
            problems.fail(
                MissingBranchError,
                f"answer {missing!r} has nowhere to go (add it to `next`, or add `default`)",
                step=step.id,
                line=step.line,
            )


def _reachable(dialog: Dialog) -> set[str]:
    seen: set[str] = set()
    todo = [dialog.start]
    while todo:
        current = todo.pop()
        if current in seen or current not in dialog.steps:
            continue
        seen.add(current)
        todo.extend(dialog.steps[current].targets())
    return seen


def _check_silent_loops(dialog: Dialog, problems: Problems) -> None:
    """A cycle made only of say and branch steps would never stop."""
    silent = {s.id for s in dialog.steps.values() if s.kind in (StepKind.SAY, StepKind.BRANCH)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in dialog.steps[node].targets():
            if target not in silent:
                continue
            if state.get(target) == 1:
                loop = [*trail[trail.index(target) :], target] if target in trail else [node, target]
                problems.fail(
                    EndlessLoopError,
                    "these steps loop without asking anything: " + " -> ".join(loop),
                    step=target,
                    line=dialog.steps[target].line,
                )
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for sid in sorted(silent):
        if sid not in state:
            visit(sid, [sid])
