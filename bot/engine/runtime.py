"""The pure dialog engine: ``advance(dialog, state, inbound, now) -> (state, effects)``.

No I/O, no clock, no randomness: the caller passes the time and persists the
state it gets back. Effects are plain values the conversation service renders
(`Say`, `Ask`, ...); message texts are catalog keys (`Msg`), never rendered
strings, so the engine does not know about languages beyond their codes.

A question is asked with a *turn* number; a button press carries the turn it
was shown with, so a press on an old keyboard is recognised and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeAlias

from bot.engine.model import DEFAULT, SKIP, Dialog, Step, StepKind

Answer: TypeAlias = str | tuple[str, ...] | None
Status: TypeAlias = Literal["intake", "handoff", "ended"]

#: Button values the engine reserves next to a step's own options.
SKIP_VALUE = "__skip__"
DISCREET_VALUE = "__discreet__"
DISCREET = "discreet"  # the mark
HUMAN_VALUE = "__human__"
DONE_VALUE = "__done__"
EXIT_VALUE = "__exit__"
LANGUAGE_STEP = "__language__"
#: How many silent steps may run in a row before the engine stops (defence in
#: depth: the loader already rejects silent loops).
_MAX_SILENT_STEPS = 200


# --- values in ------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """The victim opened the conversation (``/start``)."""


@dataclass(frozen=True)
class TextIn:
    text: str
    #: Languages the text seems to be written in, likeliest first (detected
    #: offline by the caller); used only while the language is being chosen.
    guesses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Press:
    turn: int
    value: str


@dataclass(frozen=True)
class Command:
    name: str  # without the slash, lower case
    args: str = ""


@dataclass(frozen=True)
class Media:
    """Something that is not text (a photo, a voice message ...)."""

    kind: str


Inbound: TypeAlias = Start | TextIn | Press | Command | Media
Event: TypeAlias = Inbound


# --- values out -----------------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    """A catalog message: key and placeholder values."""

    key: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verbatim:
    """Text shown as it is (a language's own name, say)."""

    text: str


Label: TypeAlias = Msg | Verbatim


@dataclass(frozen=True)
class Button:
    label: Label
    value: str
    selected: bool = False


Keyboard: TypeAlias = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Say:
    text: Msg


@dataclass(frozen=True)
class Ask:
    text: Msg
    buttons: Keyboard
    turn: int
    step: str


@dataclass(frozen=True)
class Reselect:
    """A multiple-choice toggle: show the same question with these buttons."""

    buttons: Keyboard
    turn: int


@dataclass(frozen=True)
class Answered:
    """Close the question of `turn`: remove its keyboard, echo the answer under it."""

    turn: int
    question: Msg
    echo: tuple[Label, ...]


@dataclass(frozen=True)
class Toast:
    """A short notice answering a button press (not a chat message)."""

    text: Msg


@dataclass(frozen=True)
class LanguageChanged:
    language: str


@dataclass(frozen=True)
class Marked:
    mark: str


@dataclass(frozen=True)
class HandedOff:
    reason: str


@dataclass(frozen=True)
class Finished:
    pass


@dataclass(frozen=True)
class QuickExit:
    """Erase the conversation from the victim's phone, then say nothing more."""


@dataclass(frozen=True)
class Discretion:
    """Discreet mode turned on or off: silent messages that open with a neutral line."""

    on: bool


Effect: TypeAlias = (
    Say | Ask | Reselect | Answered | Toast | LanguageChanged | Marked | HandedOff | Finished | QuickExit | Discretion
)


# --- state ----------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    flow: str
    step: str
    turn: int = 0
    language: str | None = None
    answers: Mapping[str, Answer] = field(default_factory=dict)
    marks: frozenset[str] = frozenset()
    selection: tuple[str, ...] = ()
    status: Status = "intake"
    started_at: str = ""
    resume: str | None = None  # the step to return to after /language

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "step": self.step,
            "turn": self.turn,
            "language": self.language,
            "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()},
            "marks": sorted(self.marks),
            "selection": list(self.selection),
            "status": self.status,
            "started_at": self.started_at,
            "resume": self.resume,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        answers: dict[str, Answer] = {}
        for key, value in dict(data.get("answers", {})).items():
            answers[str(key)] = tuple(str(v) for v in value) if isinstance(value, list) else value
        status = data.get("status", "intake")
        if status not in ("intake", "handoff", "ended"):
            raise ValueError(f"unknown status {status!r}")
        return cls(
            flow=str(data["flow"]),
            step=str(data["step"]),
            turn=int(data.get("turn", 0)),
            language=data.get("language"),
            answers=answers,
            marks=frozenset(str(m) for m in data.get("marks", ())),
            selection=tuple(str(v) for v in data.get("selection", ())),
            status=status,
            started_at=str(data.get("started_at", "")),
            resume=data.get("resume"),
        )


@dataclass(frozen=True)
class Languages:
    """The languages the victim can pick, in keyboard order: (code, own name)."""

    choices: Sequence[tuple[str, str]]
    #: Languages offered only when the person seems to write in them (machine-translated prompts).
    also: Mapping[str, str] = field(default_factory=dict)

    def name(self, code: str) -> str:
        return dict(self.choices).get(code) or self.also.get(code, code)

    def accepts(self, code: str) -> bool:
        return code in dict(self.choices) or code in self.also

    def preferring(self, codes: Sequence[str]) -> Languages:
        """The same languages, `codes` first (in their order), with those of `also` among them."""
        known = {**self.also, **dict(self.choices)}
        first = [(code, known[code]) for code in codes if code in known]
        return Languages((*first, *((c, n) for c, n in self.choices if c not in codes)), self.also)


# --- the engine -----------------------------------------------------------------


def new_state(dialog: Dialog, now: datetime, language: str | None = None) -> State:
    return State(flow=dialog.flow, step=dialog.start, language=language, started_at=now.isoformat())


def begin(
    dialog: Dialog, now: datetime, languages: Languages, language: str | None = None, guesses: Sequence[str] = ()
) -> tuple[State, list[Effect]]:
    """A new conversation; `guesses` (languages the first message seems written in) go first on the keyboard."""
    state = new_state(dialog, now, language)
    effects: list[Effect] = []
    state = _enter(dialog, state, dialog.start, effects, languages.preferring(guesses))
    return state, effects


def advance(
    dialog: Dialog,
    state: State | None,
    inbound: Inbound,
    now: datetime,
    languages: Languages,
) -> tuple[State, list[Effect]]:
    """Apply one inbound event to the conversation; return the new state and what to do."""
    if state is None:
        return begin(dialog, now, languages)
    if (isinstance(inbound, Command) and inbound.name == "exit") or (
        isinstance(inbound, Press) and inbound.value == EXIT_VALUE
    ):
        return _quick_exit(state)
    if isinstance(inbound, Command) and inbound.name == "discreet":
        return _discretion(dialog, state, languages)
    if isinstance(inbound, Press) and inbound.value == DISCREET_VALUE:
        if inbound.turn != state.turn or state.status != "intake":
            return state, [Toast(Msg("common.stale_button"))]
        on = DISCREET not in state.marks
        state = replace(state, marks=state.marks ^ {DISCREET})
        step = _current(dialog, state)
        message = "common.discreet_on" if on else "common.discreet_off"
        return state, [Discretion(on), Reselect(_buttons(step, state, languages), state.turn), Toast(Msg(message))]
    if isinstance(inbound, Command):
        return _command(dialog, state, inbound, now, languages)
    if isinstance(inbound, Start):
        return _command(dialog, state, Command("start"), now, languages)
    if state.status != "intake":
        return _after_intake(state, inbound)
    step = _current(dialog, state)
    if isinstance(inbound, Media):
        return _reask(dialog, state, Msg("common.unsupported_media"), languages)
    if isinstance(inbound, Press):
        if inbound.turn != state.turn:
            return state, [Toast(Msg("common.stale_button"))]
        if inbound.value == HUMAN_VALUE:
            return _hand_off(
                state, "asked_for_person", [Answered(state.turn, _question(dialog, state), (Msg("common.human"),))]
            )
        return _press(dialog, state, step, inbound.value, languages)
    return _text(dialog, state, step, inbound, languages)


def _discretion(dialog: Dialog, state: State, languages: Languages) -> tuple[State, list[Effect]]:
    """`/discreet`, at any moment: turn discreet mode on or off, then go on where we were."""
    on = DISCREET not in state.marks
    state = replace(state, marks=state.marks ^ {DISCREET})
    message = Msg("common.discreet_on" if on else "common.discreet_off")
    if state.status != "intake":
        return state, [Discretion(on), Say(message)]
    state, effects = _reask(dialog, state, message, languages)
    return state, [Discretion(on), *effects]


def _quick_exit(state: State) -> tuple[State, list[Effect]]:
    """From any step, any keyboard (even an old one), during handoff too."""
    status: Status = "handoff" if state.status == "handoff" else "ended"
    return replace(state, status=status, selection=(), marks=state.marks | {"quick_exit"}), [QuickExit()]


def _current(dialog: Dialog, state: State) -> Step:
    if state.step == LANGUAGE_STEP:
        return _language_step()
    return dialog.step(state.step)


def _question(dialog: Dialog, state: State) -> Msg:
    return Msg(_current(dialog, state).text or "")


def _language_step() -> Step:
    return Step(id=LANGUAGE_STEP, kind=StepKind.LANGUAGE, line=0, text="common.language_ask")


def _command(
    dialog: Dialog, state: State, cmd: Command, now: datetime, languages: Languages
) -> tuple[State, list[Effect]]:
    name = cmd.name
    if name == "restart" or (name == "start" and state.status == "ended"):
        # Keep counting turns, so a keyboard shown before the restart stays stale.
        fresh = replace(new_state(dialog, now, state.language), turn=state.turn)
        restarted: list[Effect] = []
        return _enter(dialog, fresh, dialog.start, restarted, languages), restarted
    if name == "human":
        if state.status == "handoff":
            return state, [Say(Msg("common.already_with_person"))]
        return _hand_off(state, "asked_for_person", [])
    if state.status == "handoff":
        return _after_intake(state, TextIn(""))
    if name == "start":
        return _reask(dialog, state, Msg("common.welcome_back"), languages)
    if name == "help":
        return _reask(dialog, state, Msg("common.help"), languages)
    if name == "language":
        if state.status != "intake":
            return _after_intake(state, TextIn(""))
        if state.step == LANGUAGE_STEP or _current(dialog, state).kind == StepKind.LANGUAGE:
            return _reask(dialog, state, None, languages)
        resume = state.step
        effects: list[Effect] = [Answered(state.turn, _question(dialog, state), ())]
        state = replace(state, resume=resume, selection=())
        state = _ask(state, _language_step(), effects, languages)
        return state, effects
    return _reask(dialog, state, Msg("common.unknown_command"), languages)


def _after_intake(state: State, inbound: Inbound) -> tuple[State, list[Effect]]:
    if isinstance(inbound, Press):
        return state, [Toast(Msg("common.stale_button"))]
    if state.status == "handoff":
        return state, [Say(Msg("common.with_person"))]
    return state, [Say(Msg("common.ended"))]


def _reask(dialog: Dialog, state: State, preface: Msg | None, languages: Languages) -> tuple[State, list[Effect]]:
    effects: list[Effect] = [Say(preface)] if preface is not None else []
    if state.status != "intake":
        return state, effects
    # The question is asked again below; its earlier copy loses its buttons.
    effects.insert(0, Answered(state.turn, _question(dialog, state), ()))
    state = _ask(state, _current(dialog, state), effects, languages)
    return state, effects


def _hand_off(state: State, reason: str, effects: list[Effect]) -> tuple[State, list[Effect]]:
    effects = [*effects, Say(Msg("common.handoff_requested")), HandedOff(reason)]
    return replace(state, status="handoff", selection=()), effects


def _press(dialog: Dialog, state: State, step: Step, value: str, languages: Languages) -> tuple[State, list[Effect]]:
    effects: list[Effect] = []
    if step.kind == StepKind.LANGUAGE:
        if not languages.accepts(value):
            return state, [Toast(Msg("common.stale_button"))]
        effects.append(Answered(state.turn, Msg(step.text or ""), (Verbatim(languages.name(value)),)))
        effects.append(LanguageChanged(value))
        state = replace(state, language=value)
        if step.save:
            state = _save(state, step.save, value)
        if step.id == LANGUAGE_STEP:
            resume = state.resume or dialog.start
            state = replace(state, resume=None)
            state = _ask(state, dialog.step(resume), effects, languages)
            return state, effects
        return _go(dialog, state, step, value, effects, languages)

    if value == SKIP_VALUE:
        effects.append(Answered(state.turn, Msg(step.text or ""), (Msg("common.skip"),)))
        if step.save:
            state = _save(state, step.save, None)
        return _go(dialog, replace(state, selection=()), step, SKIP, effects, languages)

    if step.kind == StepKind.MULTI_CHOICE:
        values = [o.value for o in step.options]
        if value == DONE_VALUE:
            chosen = tuple(v for v in values if v in state.selection)
            labels: tuple[Label, ...] = tuple(Msg(o.label) for o in step.options if o.value in chosen)
            effects.append(Answered(state.turn, Msg(step.text or ""), labels or (Msg("common.skip"),)))
            state = _save(state, step.save or step.id, chosen or None)
            return _go(dialog, replace(state, selection=()), step, SKIP if not chosen else DEFAULT, effects, languages)
        if value not in values:
            return state, [Toast(Msg("common.stale_button"))]
        selection = set(state.selection) ^ {value}
        state = replace(state, selection=tuple(v for v in values if v in selection))
        return state, [Reselect(_buttons(step, state, languages), state.turn)]

    if step.kind == StepKind.YES_NO:
        if value not in ("yes", "no"):
            return state, [Toast(Msg("common.stale_button"))]
        effects.append(Answered(state.turn, Msg(step.text or ""), (Msg(f"common.{value}"),)))
        state = _save(state, step.save or step.id, value)
        return _go(dialog, state, step, value, effects, languages)

    if step.kind == StepKind.SINGLE_CHOICE:
        option = next((o for o in step.options if o.value == value), None)
        if option is None:
            return state, [Toast(Msg("common.stale_button"))]
        effects.append(Answered(state.turn, Msg(step.text or ""), (Msg(option.label),)))
        state = _save(state, step.save or step.id, value)
        return _go(dialog, state, step, value, effects, languages)

    # A free-text question only has the skip and person buttons.
    return state, [Toast(Msg("common.stale_button"))]


def _text(
    dialog: Dialog, state: State, step: Step, inbound: TextIn, languages: Languages
) -> tuple[State, list[Effect]]:
    text = inbound.text
    guesses = [code for code in inbound.guesses if languages.accepts(code)]
    if step.kind == StepKind.LANGUAGE and guesses:
        # Propose the language the person seems to write in: the question is asked
        # again in that language, its button first; they still choose.
        proposal: list[Effect] = [Answered(state.turn, Msg(step.text or ""), ())]
        if guesses[0] != state.language:
            proposal.append(LanguageChanged(guesses[0]))
            state = replace(state, language=guesses[0])
        state = _ask(state, step, proposal, languages.preferring(guesses))
        return state, proposal
    if step.kind != StepKind.FREE_TEXT:
        hint = "common.choose_language" if step.kind == StepKind.LANGUAGE else "common.use_buttons"
        return _reask(dialog, state, Msg(hint), languages)
    cleaned = text.strip()
    if not _valid(step, cleaned):
        return _reask(dialog, state, Msg(step.invalid or "common.invalid_text"), languages)
    effects: list[Effect] = [Answered(state.turn, Msg(step.text or ""), ())]
    state = _save(state, step.save or step.id, cleaned)
    return _go(dialog, state, step, DEFAULT, effects, languages)


def _valid(step: Step, text: str) -> bool:
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


def _save(state: State, name: str, value: Answer) -> State:
    return replace(state, answers={**state.answers, name: value})


def _go(
    dialog: Dialog, state: State, step: Step, answer: str, effects: list[Effect], languages: Languages
) -> tuple[State, list[Effect]]:
    target = _route(step, answer)
    state = _enter(dialog, state, target, effects, languages)
    return state, effects


def _route(step: Step, answer: str) -> str:
    if not step.routes:
        assert step.next is not None
        return step.next
    routes = dict(step.routes)
    return routes.get(answer) or routes[DEFAULT]


def _holds(state: State, when: Sequence[Any]) -> bool:
    for cond in when:
        present = cond.answer in state.answers
        value = state.answers.get(cond.answer)
        if cond.skipped is not None:
            ok = (present and value is None) == cond.skipped
        elif cond.equals is not None:
            ok = value == cond.equals
        elif cond.one_of is not None:
            ok = isinstance(value, str) and value in cond.one_of
        else:
            ok = isinstance(value, tuple) and cond.contains in value
        if not ok:
            return False
    return True


def _enter(dialog: Dialog, state: State, step_id: str, effects: list[Effect], languages: Languages) -> State:
    for _ in range(_MAX_SILENT_STEPS):
        step = dialog.step(step_id)
        for mark in step.mark:
            if mark not in state.marks:
                state = replace(state, marks=state.marks | {mark})
                effects.append(Marked(mark))
        if step.kind == StepKind.SAY:
            assert step.text is not None and step.next is not None
            effects.append(Say(Msg(step.text)))
            step_id = step.next
        elif step.kind == StepKind.BRANCH:
            chosen = next((case.goto for case in step.cases if _holds(state, case.when)), None)
            step_id = chosen if chosen is not None else (step.default or "")
        elif step.kind == StepKind.HANDOFF:
            if step.text:
                effects.append(Say(Msg(step.text)))
            effects.append(HandedOff(step.reason or "intake_complete"))
            return replace(state, step=step.id, status="handoff", selection=())
        elif step.kind == StepKind.END:
            if step.text:
                effects.append(Say(Msg(step.text)))
            effects.append(Finished())
            return replace(state, step=step.id, status="ended", selection=())
        else:
            return _ask(replace(state, selection=()), step, effects, languages)
    raise RuntimeError(f"dialog {dialog.flow!r} ran {_MAX_SILENT_STEPS} steps without a question")


def _ask(state: State, step: Step, effects: list[Effect], languages: Languages) -> State:
    assert step.text is not None
    state = replace(state, step=step.id, turn=state.turn + 1)
    effects.append(Ask(Msg(step.text), _buttons(step, state, languages), state.turn, step.id))
    return state


def _buttons(step: Step, state: State, languages: Languages) -> Keyboard:
    rows: list[tuple[Button, ...]] = []
    if step.kind == StepKind.LANGUAGE:
        choices = [Button(Verbatim(name), code) for code, name in languages.choices]
        rows.extend(tuple(choices[i : i + 2]) for i in range(0, len(choices), 2))
        rows.append((Button(Msg("common.discreet_button"), DISCREET_VALUE, DISCREET in state.marks),))
        rows.append((Button(Msg("common.exit"), EXIT_VALUE),))
        return tuple(rows)
    if step.kind == StepKind.YES_NO:
        rows.append((Button(Msg("common.yes"), "yes"), Button(Msg("common.no"), "no")))
    elif step.kind == StepKind.SINGLE_CHOICE:
        rows.extend((Button(Msg(o.label), o.value),) for o in step.options)
    elif step.kind == StepKind.MULTI_CHOICE:
        rows.extend((Button(Msg(o.label), o.value, o.value in state.selection),) for o in step.options)
        rows.append((Button(Msg("common.done"), DONE_VALUE),))
    rows.append((Button(Msg("common.skip"), SKIP_VALUE),))
    if step.offer_person:
        rows.append((Button(Msg("common.human"), HUMAN_VALUE),))
    rows.append((Button(Msg("common.exit"), EXIT_VALUE),))
    return tuple(rows)


#: Message keys the engine itself uses, checked in every catalog like a dialog's.
ENGINE_KEYS = frozenset(
    {
        "common.language_ask",
        "common.stale_button",
        "common.human",
        "common.skip",
        "common.done",
        "common.yes",
        "common.no",
        "common.already_with_person",
        "common.with_person",
        "common.ended",
        "common.welcome_back",
        "common.help",
        "common.unknown_command",
        "common.handoff_requested",
        "common.discreet_button",
        "common.discreet_on",
        "common.discreet_off",
        "common.choose_language",
        "common.use_buttons",
        "common.invalid_text",
        "common.unsupported_media",
        "common.exit",
    }
)
