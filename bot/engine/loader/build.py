"""Pass 2: the typed model. Nodes already checked by pass 1 become `Step`s carrying their lines.

Two steps with the same id are found here, with the line of each.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from bot.engine.loader.problems import Problems
from bot.engine.loader.schema import conditions, line_of, mapping, scalar, strings
from bot.engine.model import Case, Condition, Dialog, Option, Step, StepKind, Validation
from bot.errors import DuplicateStepError


def build(top: Mapping[str, yaml.Node], problems: Problems) -> Dialog:
    """The dialog of a file whose shape is right; a repeated step id is a problem."""
    steps: dict[str, Step] = {}
    steps_node = top["steps"]
    assert isinstance(steps_node, yaml.SequenceNode)
    for node in steps_node.value:
        step = _step(node)
        if step.id in steps:
            problems.fail(
                DuplicateStepError,
                f"step id is already used at line {steps[step.id].line}",
                step=step.id,
                line=step.line,
            )
            continue
        steps[step.id] = step
    return Dialog(flow=problems.flow or "", path=problems.path, start=scalar(top["start"]) or "", steps=steps)


def _step(node: yaml.Node) -> Step:
    f = mapping(node) or {}
    return Step(
        id=scalar(f["id"]) or "",
        kind=StepKind(scalar(f["kind"]) or ""),
        line=line_of(node),
        text=scalar(f.get("text")),
        save=scalar(f.get("save")),
        options=_options(f.get("options")),
        next=scalar(f.get("next")),
        routes=_routes(f.get("next")),
        cases=_cases(f.get("cases")),
        default=scalar(f.get("default")),
        validate=_validation(f.get("validate")),
        invalid=scalar(f.get("invalid")),
        mark=tuple(strings(f.get("mark")) or ()),
        reason=scalar(f.get("reason")),
        offer_person=scalar(f.get("offer_person")) != "false",
    )


def _routes(node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
    """A `next` mapping from answers to step ids, in the file's order (empty for a single `next`)."""
    routes = mapping(node)
    if routes is None:
        return ()
    return tuple((answer, scalar(target) or "") for answer, target in routes.items())


def _options(node: yaml.Node | None) -> tuple[Option, ...]:
    if not isinstance(node, yaml.SequenceNode):
        return ()
    options: list[Option] = []
    for option in node.value:
        fields = mapping(option) or {}
        options.append(
            Option(value=scalar(fields["value"]) or "", label=scalar(fields["label"]) or "", line=line_of(option))
        )
    return tuple(options)


def _cases(node: yaml.Node | None) -> tuple[Case, ...]:
    if not isinstance(node, yaml.SequenceNode):
        return ()
    cases: list[Case] = []
    for case in node.value:
        fields = mapping(case) or {}
        when = tuple(_condition(cond) for cond in conditions(fields["when"]))
        cases.append(Case(when=when, goto=scalar(fields["goto"]) or "", line=line_of(case)))
    return tuple(cases)


def _condition(node: yaml.Node) -> Condition:
    m = mapping(node) or {}
    answer = scalar(m["answer"]) or ""
    line = line_of(node)
    if "equals" in m:
        return Condition(answer=answer, equals=scalar(m["equals"]), line=line)
    if "in" in m:
        return Condition(answer=answer, one_of=tuple(strings(m["in"]) or ()), line=line)
    if "contains" in m:
        return Condition(answer=answer, contains=scalar(m["contains"]), line=line)
    return Condition(answer=answer, skipped=(scalar(m["skipped"]) or "").lower() == "true", line=line)


def _validation(node: yaml.Node | None) -> Validation | None:
    if node is None:
        return None
    rules = mapping(node) or {}
    return Validation(
        min_length=int(scalar(rules["min_length"]) or 0) if "min_length" in rules else None,
        max_length=int(scalar(rules["max_length"]) or 0) if "max_length" in rules else None,
        pattern=scalar(rules.get("pattern")),
    )
