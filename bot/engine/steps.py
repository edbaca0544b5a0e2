"""Entering a step: silent steps run at once, a question is asked and waits.

`say` steps speak and go on, `branch` steps choose where to go from earlier
answers, `handoff` and `end` close the intake; any other kind is a question,
asked with a new *turn* number so that a press on an older keyboard is known
to be stale.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from bot.engine.effects import Answered, Ask, Effect, Finished, HandedOff, Marked, Msg, Say
from bot.engine.keyboard import buttons
from bot.engine.languages import Languages
from bot.engine.model import DEFAULT, Condition, Dialog, Step, StepKind
from bot.engine.state import Answer, State

#: The step id of the language question `/language` asks in the middle of a dialog.
LANGUAGE_STEP = "__language__"
#: How many silent steps may run in a row before the engine stops (defence in
#: depth: the loader already rejects silent loops).
_MAX_SILENT_STEPS = 200

Outcome = tuple[State, list[Effect]]


def language_step() -> Step:
    return Step(id=LANGUAGE_STEP, kind=StepKind.LANGUAGE, line=0, text="common.language_ask")


def current(dialog: Dialog, state: State) -> Step:
    """The step the conversation is at (the language question may be asked from any step)."""
    if state.step == LANGUAGE_STEP:
        return language_step()
    return dialog.step(state.step)


def question(dialog: Dialog, state: State) -> Msg:
    return Msg(current(dialog, state).text or "")


def save(state: State, name: str, value: Answer) -> State:
    return replace(state, answers={**state.answers, name: value})


def valid(step: Step, text: str) -> bool:
    """Whether a typed answer passes the step's `validate` rules (an empty one never does)."""
    if not text:
        return False
    rules = step.validate
    if rules is None:
        return True
    if rules.min_length is not None and len(text) < rules.min_length:
        return False
    if rules.max_length is not None and len(text) > rules.max_length:
        return False
    return rules.pattern is None or re.fullmatch(rules.pattern, text) is not None


def ask(state: State, step: Step, effects: list[Effect], languages: Languages) -> State:
    """Ask `step`'s question with the next turn number."""
    assert step.text is not None
    state = replace(state, step=step.id, turn=state.turn + 1)
    effects.append(Ask(Msg(step.text), buttons(step, state, languages), state.turn, step.id))
    return state


def reask(dialog: Dialog, state: State, preface: Msg | None, languages: Languages) -> Outcome:
    """Say `preface`, then ask the current question again (during the intake only)."""
    effects: list[Effect] = [Say(preface)] if preface is not None else []
    if state.status != "intake":
        return state, effects
    # The question is asked again below; its earlier copy loses its buttons.
    effects.insert(0, Answered(state.turn, question(dialog, state), ()))
    state = ask(state, current(dialog, state), effects, languages)
    return state, effects


def go(dialog: Dialog, state: State, step: Step, answer: str, effects: list[Effect], languages: Languages) -> Outcome:
    """Leave `step`, answered with `answer`, for the step its `next` names."""
    state = enter(dialog, state, _route(step, answer), effects, languages)
    return state, effects


def enter(dialog: Dialog, state: State, step_id: str, effects: list[Effect], languages: Languages) -> State:
    """Run silent steps from `step_id` on, until a question is asked or the intake closes."""
    for _ in range(_MAX_SILENT_STEPS):
        step = dialog.step(step_id)
        state = _mark(state, step, effects)
        if step.kind == StepKind.SAY:
            step_id = _say(step, effects)
        elif step.kind == StepKind.BRANCH:
            step_id = _branch(state, step)
        elif step.kind in (StepKind.HANDOFF, StepKind.END):
            return _close(state, step, effects)
        else:
            return ask(replace(state, selection=()), step, effects, languages)
    raise RuntimeError(f"dialog {dialog.flow!r} ran {_MAX_SILENT_STEPS} steps without a question")


def _mark(state: State, step: Step, effects: list[Effect]) -> State:
    for mark in step.mark:
        if mark not in state.marks:
            state = replace(state, marks=state.marks | {mark})
            effects.append(Marked(mark))
    return state


def _say(step: Step, effects: list[Effect]) -> str:
    assert step.text is not None and step.next is not None
    effects.append(Say(Msg(step.text)))
    return step.next


def _branch(state: State, step: Step) -> str:
    chosen = next((case.goto for case in step.cases if _holds(state, case.when)), None)
    return chosen if chosen is not None else (step.default or "")


def _close(state: State, step: Step, effects: list[Effect]) -> State:
    """A `handoff` or `end` step: say its text, then hand the conversation over or finish it."""
    if step.text:
        effects.append(Say(Msg(step.text)))
    if step.kind == StepKind.HANDOFF:
        effects.append(HandedOff(step.reason or "intake_complete"))
        return replace(state, step=step.id, status="handoff", selection=())
    effects.append(Finished())
    return replace(state, step=step.id, status="ended", selection=())


def _route(step: Step, answer: str) -> str:
    if not step.routes:
        assert step.next is not None
        return step.next
    routes = dict(step.routes)
    return routes.get(answer) or routes[DEFAULT]


def _holds(state: State, when: Sequence[Condition]) -> bool:
    return all(_true(state, cond) for cond in when)


def _true(state: State, cond: Condition) -> bool:
    present = cond.answer in state.answers
    value = state.answers.get(cond.answer)
    if cond.skipped is not None:
        return (present and value is None) == cond.skipped
    if cond.equals is not None:
        return value == cond.equals
    if cond.one_of is not None:
        return isinstance(value, str) and value in cond.one_of
    return isinstance(value, tuple) and cond.contains in value
