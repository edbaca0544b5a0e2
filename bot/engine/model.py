"""The typed dialog model: what a loaded `dialogs/*.yaml` file becomes.

A dialog is a flow of steps. Each step has a kind; questions save their answer
under a name that later `branch` steps (and the intake summary) read. Every
question can be skipped: the engine adds the "I prefer not to answer" button,
and a skipped answer is recorded as ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class StepKind(StrEnum):
    SAY = "say"
    LANGUAGE = "language"
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    FREE_TEXT = "free_text"
    BRANCH = "branch"
    HANDOFF = "handoff"
    END = "end"


QUESTION_KINDS = frozenset(
    {
        StepKind.LANGUAGE,
        StepKind.SINGLE_CHOICE,
        StepKind.MULTI_CHOICE,
        StepKind.YES_NO,
        StepKind.FREE_TEXT,
    }
)
TERMINAL_KINDS = frozenset({StepKind.HANDOFF, StepKind.END})

#: The value a skipped question leaves in `next` mappings.
SKIP = "skip"
#: The fallback key of a `next` mapping.
DEFAULT = "default"


@dataclass(frozen=True)
class Option:
    value: str
    label: str  # message key
    line: int


@dataclass(frozen=True)
class Condition:
    """One test on an earlier answer. Exactly one of the operators is set."""

    answer: str
    equals: str | None = None
    one_of: tuple[str, ...] | None = None
    contains: str | None = None
    skipped: bool | None = None
    line: int = 0


@dataclass(frozen=True)
class Case:
    when: tuple[Condition, ...]  # all must hold
    goto: str
    line: int


@dataclass(frozen=True)
class Validation:
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    line: int
    text: str | None = None  # message key
    save: str | None = None
    options: tuple[Option, ...] = ()
    #: Either one step id, or a mapping from an answer value (or `yes`, `no`,
    #: `skip`, `default`) to a step id.
    next: str | None = None
    routes: tuple[tuple[str, str], ...] = ()
    cases: tuple[Case, ...] = ()
    default: str | None = None
    validate: Validation | None = None
    invalid: str | None = None  # message key shown when validation fails
    mark: tuple[str, ...] = ()
    reason: str | None = None  # handoff reason
    #: Whether the question shows the "Talk to a person" button (a step whose
    #: own options already offer a person turns it off).
    offer_person: bool = True

    @property
    def is_question(self) -> bool:
        return self.kind in QUESTION_KINDS

    def targets(self) -> list[str]:
        """Every step id this step can lead to."""
        found: list[str] = []
        if self.next is not None:
            found.append(self.next)
        found.extend(target for _, target in self.routes)
        found.extend(case.goto for case in self.cases)
        if self.default is not None:
            found.append(self.default)
        return found

    def message_keys(self) -> list[str]:
        keys = [k for k in (self.text, self.invalid) if k is not None]
        keys.extend(option.label for option in self.options)
        return keys


@dataclass(frozen=True)
class Dialog:
    flow: str
    path: str
    start: str
    steps: dict[str, Step] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def message_keys(self) -> set[str]:
        keys: set[str] = set()
        for step in self.steps.values():
            keys.update(step.message_keys())
        return keys
