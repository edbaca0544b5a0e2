"""Pass 1: the shape of a dialog file, with messages a translator can act on.

The YAML is composed into nodes, not loaded into Python values, so every value
keeps the line it was written on; a problem names that line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from bot.engine.loader.problems import Problems
from bot.engine.model import DEFAULT, SKIP, StepKind
from bot.errors import DialogSchemaError

_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_VALUE = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

_STEP_FIELDS: dict[StepKind, set[str]] = {
    StepKind.SAY: {"text", "next", "mark"},
    StepKind.LANGUAGE: {"text", "next", "save", "mark"},
    StepKind.SINGLE_CHOICE: {"text", "save", "options", "next", "mark", "offer_person"},
    StepKind.MULTI_CHOICE: {"text", "save", "options", "next", "mark"},
    StepKind.YES_NO: {"text", "save", "next", "mark", "offer_person"},
    StepKind.FREE_TEXT: {"text", "save", "next", "validate", "invalid", "mark"},
    StepKind.BRANCH: {"cases", "default", "mark"},
    StepKind.HANDOFF: {"text", "reason", "mark"},
    StepKind.END: {"text", "mark"},
}
_REQUIRED: dict[StepKind, set[str]] = {
    StepKind.SAY: {"text", "next"},
    StepKind.LANGUAGE: {"text", "next"},
    StepKind.SINGLE_CHOICE: {"text", "save", "options", "next"},
    StepKind.MULTI_CHOICE: {"text", "save", "options", "next"},
    StepKind.YES_NO: {"text", "save", "next"},
    StepKind.FREE_TEXT: {"text", "save", "next"},
    StepKind.BRANCH: {"cases", "default"},
    StepKind.HANDOFF: {"reason"},
    StepKind.END: set(),
}
OPERATORS = ("equals", "in", "contains", "skipped")


# --- reading nodes ------------------------------------------------------------------


def mapping(node: yaml.Node | None) -> dict[str, yaml.Node] | None:
    """A mapping node's values by their (scalar) keys; None for any other node."""
    if not isinstance(node, yaml.MappingNode):
        return None
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            out[str(key.value)] = value
    return out


def scalar(node: yaml.Node | None) -> str | None:
    """A scalar node's text; None for a null or any other node."""
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value)
    return None


def strings(node: yaml.Node | None) -> list[str] | None:
    """A list of scalars as texts; None if it is not one."""
    if isinstance(node, yaml.SequenceNode):
        items = [scalar(item) for item in node.value]
        if all(item is not None for item in items):
            return [item for item in items if item is not None]
    return None


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def compose(text: str, problems: Problems) -> yaml.Node | None:
    """The file's node tree; a file that is not YAML is one problem, at its line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        problems.fail(DialogSchemaError, f"not valid YAML: {exc.problem}", line=line)
    except yaml.YAMLError as exc:
        problems.fail(DialogSchemaError, f"not valid YAML: {exc}")
    return None


# --- the file -----------------------------------------------------------------------


def check_schema(root: yaml.Node | None, problems: Problems) -> dict[str, yaml.Node] | None:
    """Check the top level and every step's shape; the top-level fields if the file is a mapping."""
    top = mapping(root)
    if root is None or top is None:
        problems.fail(DialogSchemaError, "a dialog file is a mapping with `flow`, `start` and `steps`", line=1)
        return None
    flow = scalar(top.get("flow"))
    if flow is None or not _ID.match(flow):
        problems.fail(DialogSchemaError, "`flow` must name the flow, e.g. `flow: intake`", node=top.get("flow", root))
    else:
        problems.flow = flow
    for name in sorted(set(top) - {"flow", "start", "steps", "description"}):
        problems.fail(DialogSchemaError, f"unknown top-level field `{name}`", node=top[name])
    if scalar(top.get("start")) is None:
        problems.fail(DialogSchemaError, "`start` must name the first step", node=top.get("start", root))
    steps = top.get("steps")
    if not isinstance(steps, yaml.SequenceNode) or not steps.value:
        problems.fail(DialogSchemaError, "`steps` must be a non-empty list", node=steps or root)
    else:
        for node in steps.value:
            _check_step(node, problems)
    return top


# --- one step -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One step's fields, while its shape is checked."""

    node: yaml.Node
    fields: dict[str, yaml.Node]
    id: str | None
    problems: Problems

    def fail(self, message: str, node: yaml.Node | None = None) -> None:
        self.problems.fail(DialogSchemaError, message, step=self.id, node=self.node if node is None else node)


def _check_step(node: yaml.Node, problems: Problems) -> None:
    fields = mapping(node)
    if fields is None:
        problems.fail(DialogSchemaError, "each step must be a mapping with an `id` and a `kind`", node=node)
        return
    step = _Step(node, fields, scalar(fields.get("id")), problems)
    if step.id is None or not _ID.match(step.id):
        step.fail("`id` must be lowercase letters, digits and underscores, starting with a letter", fields.get("id"))
    kind = _check_kind(step)
    if kind is None:
        return
    _check_fields(step, kind)
    for check in _FIELD_CHECKS:
        check(step)


def _check_kind(step: _Step) -> StepKind | None:
    text = scalar(step.fields.get("kind"))
    if text is None or text not in {k.value for k in StepKind}:
        kinds = ", ".join(k.value for k in StepKind)
        step.fail(f"`kind` must be one of: {kinds} (got {text!r})", step.fields.get("kind"))
        return None
    return StepKind(text)


def _check_fields(step: _Step, kind: StepKind) -> None:
    """No field another kind of step has; every field this kind needs."""
    allowed = _STEP_FIELDS[kind] | {"id", "kind"}
    for name in sorted(set(step.fields) - allowed):
        step.fail(
            f"a {kind.value} step has no field `{name}` (allowed: {', '.join(sorted(allowed))})", step.fields[name]
        )
    for name in sorted(_REQUIRED[kind] - set(step.fields)):
        step.fail(f"a {kind.value} step needs `{name}`")


def _check_message_keys(step: _Step) -> None:
    for name in ("text", "invalid"):
        if name in step.fields:
            key = scalar(step.fields[name])
            if key is None or not _KEY.match(key):
                step.fail(f"`{name}` must be a message key such as `intake.welcome`", step.fields[name])


def _check_save(step: _Step) -> None:
    if "save" in step.fields and not _ID.match(scalar(step.fields["save"]) or ""):
        step.fail("`save` must be a name like `in_danger`", step.fields["save"])


def _check_next(step: _Step) -> None:
    nxt = step.fields.get("next")
    if nxt is None or scalar(nxt) is not None:
        return
    routes = mapping(nxt)
    if routes is None or not all(scalar(v) for v in routes.values()):
        step.fail("`next` must be a step id, or a mapping from answers to step ids", nxt)


def _check_offer_person(step: _Step) -> None:
    if "offer_person" in step.fields and scalar(step.fields["offer_person"]) not in ("true", "false"):
        step.fail("`offer_person` must be true or false", step.fields["offer_person"])


def _check_mark(step: _Step) -> None:
    if "mark" in step.fields and strings(step.fields["mark"]) is None:
        step.fail("`mark` must be a list of names", step.fields["mark"])


def _check_options(step: _Step) -> None:
    options = step.fields.get("options")
    if options is None:
        return
    if not isinstance(options, yaml.SequenceNode) or not options.value:
        step.fail("`options` must be a non-empty list", options)
        return
    for option in options.value:
        of = mapping(option) or {}
        value, label = scalar(of.get("value")), scalar(of.get("label"))
        if value is None or not _VALUE.match(value) or label is None or not _KEY.match(label):
            step.fail(
                "each option needs `value` (lowercase, at most 32 characters) and `label` (a message key)", option
            )
        elif value in {SKIP, DEFAULT, "done"}:
            step.fail(f"option value {value!r} is reserved", option)


def _check_validate(step: _Step) -> None:
    if "validate" not in step.fields:
        return
    rules = mapping(step.fields["validate"])
    if rules is None or set(rules) - {"min_length", "max_length", "pattern"}:
        step.fail("`validate` may hold `min_length`, `max_length` and `pattern`", step.fields["validate"])
        return
    for name in ("min_length", "max_length"):
        if name in rules and not (scalar(rules[name]) or "").isdigit():
            step.fail(f"`{name}` must be a whole number", rules[name])
    if "pattern" in rules:
        try:
            re.compile(scalar(rules["pattern"]) or "")
        except re.error as exc:
            step.fail(f"`pattern` is not a regular expression: {exc}", rules["pattern"])


def _check_cases(step: _Step) -> None:
    cases = step.fields.get("cases")
    if cases is None:
        return
    if not isinstance(cases, yaml.SequenceNode) or not cases.value:
        step.fail("`cases` must be a non-empty list", cases)
        return
    for case in cases.value:
        cf = mapping(case) or {}
        if scalar(cf.get("goto")) is None or "when" not in cf:
            step.fail("each case needs `when` and `goto`", case)
            continue
        for cond in conditions(cf["when"]):
            _check_condition(step, cond)


def conditions(when: yaml.Node) -> list[yaml.Node]:
    """A case's `when`: one condition, or a list of them that must all hold."""
    return list(when.value) if isinstance(when, yaml.SequenceNode) else [when]


def _check_condition(step: _Step, cond: yaml.Node) -> None:
    cm = mapping(cond) or {}
    ops = [op for op in OPERATORS if op in cm]
    if scalar(cm.get("answer")) is None or len(ops) != 1 or set(cm) - {"answer", *OPERATORS}:
        step.fail("a condition is `answer: NAME` with exactly one of: " + ", ".join(OPERATORS), cond)


#: The checks of single fields, in the order their problems are reported.
_FIELD_CHECKS: tuple[Callable[[_Step], None], ...] = (
    _check_message_keys,
    _check_save,
    _check_next,
    _check_offer_person,
    _check_mark,
    _check_options,
    _check_validate,
    _check_cases,
)
