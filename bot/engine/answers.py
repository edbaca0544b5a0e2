"""Answering the current question: a button pressed or a text typed, per step kind.

Each kind accepts its own answers; anything else is a stale button (a toast)
or a gentle hint, and the question is asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.engine.effects import Answered, Effect, Label, LanguageChanged, Msg, Reselect, Toast, Verbatim
from bot.engine.events import TextIn
from bot.engine.keyboard import DONE_VALUE, SKIP_VALUE, buttons
from bot.engine.languages import Languages
from bot.engine.model import DEFAULT, SKIP, Dialog, Step, StepKind
from bot.engine.state import State
from bot.engine.steps import LANGUAGE_STEP, Outcome, ask, go, reask, save, valid

_OnPress = Callable[[Dialog, State, Step, str, Languages], Outcome]


def _stale(state: State) -> Outcome:
    return state, [Toast(Msg("common.stale_button"))]


def _question(step: Step) -> Msg:
    return Msg(step.text or "")


# --- buttons ---------------------------------------------------------------------


def press(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> Outcome:
    """A button of the current question's keyboard, pressed with the current turn."""
    if step.kind == StepKind.LANGUAGE:
        return _press_language(dialog, state, step, value, languages)
    if value == SKIP_VALUE:
        return _press_skip(dialog, state, step, languages)
    on_press = _ON_PRESS.get(step.kind)
    if on_press is None:  # a free-text question only has the skip and person buttons
        return _stale(state)
    return on_press(dialog, state, step, value, languages)


def _press_language(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> Outcome:
    if not languages.accepts(value):
        return _stale(state)
    effects: list[Effect] = [
        Answered(state.turn, _question(step), (Verbatim(languages.name(value)),)),
        LanguageChanged(value),
    ]
    state = replace(state, language=value)
    if step.save:
        state = save(state, step.save, value)
    if step.id == LANGUAGE_STEP:  # asked by /language: back to the question it interrupted
        resume = state.resume or dialog.start
        state = ask(replace(state, resume=None), dialog.step(resume), effects, languages)
        return state, effects
    return go(dialog, state, step, value, effects, languages)


def _press_skip(dialog: Dialog, state: State, step: Step, languages: Languages) -> Outcome:
    effects: list[Effect] = [Answered(state.turn, _question(step), (Msg("common.skip"),))]
    if step.save:
        state = save(state, step.save, None)
    return go(dialog, replace(state, selection=()), step, SKIP, effects, languages)


def _press_multi_choice(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> Outcome:
    """An option toggles in the selection; `done` saves the selection and goes on."""
    values = [o.value for o in step.options]
    if value == DONE_VALUE:
        chosen = tuple(v for v in values if v in state.selection)
        labels: tuple[Label, ...] = tuple(Msg(o.label) for o in step.options if o.value in chosen)
        effects: list[Effect] = [Answered(state.turn, _question(step), labels or (Msg("common.skip"),))]
        state = save(state, step.save or step.id, chosen or None)
        return go(dialog, replace(state, selection=()), step, SKIP if not chosen else DEFAULT, effects, languages)
    if value not in values:
        return _stale(state)
    selection = set(state.selection) ^ {value}
    state = replace(state, selection=tuple(v for v in values if v in selection))
    return state, [Reselect(buttons(step, state, languages), state.turn)]


def _press_yes_no(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> Outcome:
    if value not in ("yes", "no"):
        return _stale(state)
    effects: list[Effect] = [Answered(state.turn, _question(step), (Msg(f"common.{value}"),))]
    state = save(state, step.save or step.id, value)
    return go(dialog, state, step, value, effects, languages)


def _press_single_choice(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> Outcome:
    option = next((o for o in step.options if o.value == value), None)
    if option is None:
        return _stale(state)
    effects: list[Effect] = [Answered(state.turn, _question(step), (Msg(option.label),))]
    state = save(state, step.save or step.id, value)
    return go(dialog, state, step, value, effects, languages)


_ON_PRESS: dict[StepKind, _OnPress] = {
    StepKind.MULTI_CHOICE: _press_multi_choice,
    StepKind.YES_NO: _press_yes_no,
    StepKind.SINGLE_CHOICE: _press_single_choice,
}


# --- typed text ------------------------------------------------------------------


def text(dialog: Dialog, state: State, step: Step, typed: TextIn, languages: Languages) -> Outcome:
    """Text typed while the current question waits."""
    guesses = [code for code in typed.guesses if languages.accepts(code)]
    if step.kind == StepKind.LANGUAGE and guesses:
        return _propose_language(state, step, guesses, languages)
    if step.kind != StepKind.FREE_TEXT:
        hint = "common.choose_language" if step.kind == StepKind.LANGUAGE else "common.use_buttons"
        return reask(dialog, state, Msg(hint), languages)
    cleaned = typed.text.strip()
    if not valid(step, cleaned):
        return reask(dialog, state, Msg(step.invalid or "common.invalid_text"), languages)
    effects: list[Effect] = [Answered(state.turn, _question(step), ())]
    state = save(state, step.save or step.id, cleaned)
    return go(dialog, state, step, DEFAULT, effects, languages)


def _propose_language(state: State, step: Step, guesses: list[str], languages: Languages) -> Outcome:
    """Ask the language question again in the language the person seems to write in,
    its button first; they still choose."""
    effects: list[Effect] = [Answered(state.turn, _question(step), ())]
    if guesses[0] != state.language:
        effects.append(LanguageChanged(guesses[0]))
        state = replace(state, language=guesses[0])
    state = ask(state, step, effects, languages.preferring(guesses))
    return state, effects
