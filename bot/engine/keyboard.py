"""The buttons under a question: the step's own answers, then the engine's.

Every question can be skipped, offers a person (unless the step says
otherwise) and a quick exit; the language question also toggles discreet
mode. Those buttons carry values no dialog may use (the loader reserves them).
"""

from __future__ import annotations

from bot.engine.effects import Button, Keyboard, Msg, Verbatim
from bot.engine.languages import Languages
from bot.engine.model import Step, StepKind
from bot.engine.state import State

#: Button values the engine reserves next to a step's own options.
SKIP_VALUE = "__skip__"
DISCREET_VALUE = "__discreet__"
HUMAN_VALUE = "__human__"
DONE_VALUE = "__done__"
EXIT_VALUE = "__exit__"
#: The mark a conversation carries while discreet mode is on.
DISCREET = "discreet"

_Row = tuple[Button, ...]


def buttons(step: Step, state: State, languages: Languages) -> Keyboard:
    """The keyboard of `step`, with the choices of a multiple-choice question as `state` has them."""
    if step.kind == StepKind.LANGUAGE:
        return _language_keyboard(state, languages)
    rows = _answer_rows(step, state)
    rows.append((Button(Msg("common.skip"), SKIP_VALUE),))
    if step.offer_person:
        rows.append((Button(Msg("common.human"), HUMAN_VALUE),))
    rows.append((Button(Msg("common.exit"), EXIT_VALUE),))
    return tuple(rows)


def _language_keyboard(state: State, languages: Languages) -> Keyboard:
    """Two languages a row, in their own names; then discreet mode and the quick exit."""
    choices = [Button(Verbatim(name), code) for code, name in languages.choices]
    rows: list[_Row] = [tuple(choices[i : i + 2]) for i in range(0, len(choices), 2)]
    rows.append((Button(Msg("common.discreet_button"), DISCREET_VALUE, DISCREET in state.marks),))
    rows.append((Button(Msg("common.exit"), EXIT_VALUE),))
    return tuple(rows)


def _answer_rows(step: Step, state: State) -> list[_Row]:
    if step.kind == StepKind.YES_NO:
        return [(Button(Msg("common.yes"), "yes"), Button(Msg("common.no"), "no"))]
    if step.kind == StepKind.SINGLE_CHOICE:
        return [(Button(Msg(o.label), o.value),) for o in step.options]
    if step.kind == StepKind.MULTI_CHOICE:
        rows: list[_Row] = [(Button(Msg(o.label), o.value, o.value in state.selection),) for o in step.options]
        rows.append((Button(Msg("common.done"), DONE_VALUE),))
        return rows
    return []  # a free-text question is answered by typing
