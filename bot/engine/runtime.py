"""The pure dialog engine: ``advance(dialog, state, event, now, languages) -> (state, effects)``.

No I/O, no clock, no randomness: the caller passes the time and persists the
state it gets back. Effects are plain values the conversation service renders
(`Say`, `Ask`, ...); message texts are catalog keys (`Msg`), never rendered
strings, so the engine does not know about languages beyond their codes.

A question is asked with a *turn* number; a button press carries the turn it
was shown with, so a press on an old keyboard is recognised and ignored.

What holds at any moment lives here (commands, the quick exit, discreet mode,
asking for a person); answering the current question is `answers`, walking
from one question to the next is `steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.engine import answers
from bot.engine.effects import Answered, Discretion, Effect, HandedOff, Msg, QuickExit, Reselect, Say, Toast
from bot.engine.events import Command, Event, Media, Press, Start
from bot.engine.keyboard import DISCREET, DISCREET_VALUE, EXIT_VALUE, HUMAN_VALUE, buttons
from bot.engine.languages import Languages
from bot.engine.model import Dialog, StepKind
from bot.engine.state import State, Status
from bot.engine.steps import LANGUAGE_STEP, Outcome, ask, current, enter, language_step, question, reask

#: What a command that only asks the current question again says first.
_PREFACES = {"start": "common.welcome_back", "help": "common.help"}


def _new_state(dialog: Dialog, now: datetime, language: str | None = None) -> State:
    return State(flow=dialog.flow, step=dialog.start, language=language, started_at=now.isoformat())


def begin(
    dialog: Dialog, now: datetime, languages: Languages, language: str | None = None, guesses: Sequence[str] = ()
) -> tuple[State, list[Effect]]:
    """A new conversation; `guesses` (languages the first message seems written in) go first on the keyboard."""
    state = _new_state(dialog, now, language)
    effects: list[Effect] = []
    state = enter(dialog, state, dialog.start, effects, languages.preferring(guesses))
    return state, effects


def advance(
    dialog: Dialog,
    state: State | None,
    event: Event,
    now: datetime,
    languages: Languages,
) -> tuple[State, list[Effect]]:
    """Apply one event to the conversation; return the new state and what to do."""
    if state is None:
        return begin(dialog, now, languages)
    if _wants_out(event):
        return _quick_exit(state)
    if isinstance(event, Start):
        event = Command("start")
    if isinstance(event, Command):
        return _command(dialog, state, event, now, languages)
    if isinstance(event, Press):
        return _press(dialog, state, event, languages)
    if state.status != "intake":
        return _after_intake(state, event)
    if isinstance(event, Media):
        return reask(dialog, state, Msg("common.unsupported_media"), languages)
    return answers.text(dialog, state, current(dialog, state), event, languages)


# --- at any moment -----------------------------------------------------------------


def _wants_out(event: Event) -> bool:
    """`/exit`, or the quick-exit button of any keyboard."""
    return (isinstance(event, Command) and event.name == "exit") or (
        isinstance(event, Press) and event.value == EXIT_VALUE
    )


def _quick_exit(state: State) -> Outcome:
    """From any step, any keyboard (even an old one), during handoff too."""
    status: Status = "handoff" if state.status == "handoff" else "ended"
    return replace(state, status=status, selection=(), marks=state.marks | {"quick_exit"}), [QuickExit()]


def _discretion(dialog: Dialog, state: State, languages: Languages) -> Outcome:
    """`/discreet`, at any moment: turn discreet mode on or off, then go on where we were."""
    on = DISCREET not in state.marks
    state = replace(state, marks=state.marks ^ {DISCREET})
    message = Msg("common.discreet_on" if on else "common.discreet_off")
    if state.status != "intake":
        return state, [Discretion(on), Say(message)]
    state, effects = reask(dialog, state, message, languages)
    return state, [Discretion(on), *effects]


def _discretion_button(dialog: Dialog, state: State, event: Press, languages: Languages) -> Outcome:
    """The discreet-mode button of the language question: toggled in place."""
    if event.turn != state.turn or state.status != "intake":
        return state, [Toast(Msg("common.stale_button"))]
    on = DISCREET not in state.marks
    state = replace(state, marks=state.marks ^ {DISCREET})
    keyboard = buttons(current(dialog, state), state, languages)
    message = "common.discreet_on" if on else "common.discreet_off"
    return state, [Discretion(on), Reselect(keyboard, state.turn), Toast(Msg(message))]


def _hand_off(state: State, reason: str, effects: list[Effect]) -> Outcome:
    effects = [*effects, Say(Msg("common.handoff_requested")), HandedOff(reason)]
    return replace(state, status="handoff", selection=()), effects


def _after_intake(state: State, event: Event) -> Outcome:
    if isinstance(event, Press):
        return state, [Toast(Msg("common.stale_button"))]
    if state.status == "handoff":
        return state, [Say(Msg("common.with_person"))]
    return state, [Say(Msg("common.ended"))]


# --- commands ------------------------------------------------------------------------


def _command(dialog: Dialog, state: State, cmd: Command, now: datetime, languages: Languages) -> Outcome:
    name = cmd.name
    if name == "discreet":
        return _discretion(dialog, state, languages)
    if name == "restart" or (name == "start" and state.status == "ended"):
        return _restart(dialog, state, now, languages)
    if name == "human":
        if state.status == "handoff":
            return state, [Say(Msg("common.already_with_person"))]
        return _hand_off(state, "asked_for_person", [])
    if state.status == "handoff":
        return _after_intake(state, cmd)
    if name == "language":
        return _language_again(dialog, state, languages)
    return reask(dialog, state, Msg(_PREFACES.get(name, "common.unknown_command")), languages)


def _restart(dialog: Dialog, state: State, now: datetime, languages: Languages) -> Outcome:
    # Keep counting turns, so a keyboard shown before the restart stays stale.
    fresh = replace(_new_state(dialog, now, state.language), turn=state.turn)
    effects: list[Effect] = []
    return enter(dialog, fresh, dialog.start, effects, languages), effects


def _language_again(dialog: Dialog, state: State, languages: Languages) -> Outcome:
    """`/language`: ask the language question, then come back to the question it interrupts."""
    if state.status != "intake":
        return _after_intake(state, Command("language"))
    if state.step == LANGUAGE_STEP or current(dialog, state).kind == StepKind.LANGUAGE:
        return reask(dialog, state, None, languages)
    effects: list[Effect] = [Answered(state.turn, question(dialog, state), ())]
    state = replace(state, resume=state.step, selection=())
    state = ask(state, language_step(), effects, languages)
    return state, effects


# --- buttons -------------------------------------------------------------------------


def _press(dialog: Dialog, state: State, event: Press, languages: Languages) -> Outcome:
    if event.value == DISCREET_VALUE:
        return _discretion_button(dialog, state, event, languages)
    if state.status != "intake":
        return _after_intake(state, event)
    step = current(dialog, state)  # a step the dialog no longer has fails here, stale press or not
    if event.turn != state.turn:
        return state, [Toast(Msg("common.stale_button"))]
    if event.value == HUMAN_VALUE:
        answered = Answered(state.turn, question(dialog, state), (Msg("common.human"),))
        return _hand_off(state, "asked_for_person", [answered])
    return answers.press(dialog, state, step, event.value, languages)
