"""Load dialog files in three passes.

1. **Schema**: the YAML is composed into nodes (so every value keeps its line)
   and its shape is checked, with messages a translator can act on.
2. **Typed model**: nodes become `Step` objects carrying their line numbers;
   duplicate ids are caught here.
3. **Graph**: every target exists, every step is reachable from the start,
   every answer has somewhere to go, no loop runs without asking a question.

Every pass collects all the problems it can before failing, and the
`DialogCheck` raised lists them all; each names the file, the flow and the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.engine.model import (
    DEFAULT,
    SKIP,
    TERMINAL_KINDS,
    Case,
    Condition,
    Dialog,
    Option,
    Step,
    StepKind,
    Validation,
)
from bot.errors import (
    AccueilError,
    DialogError,
    DialogSchemaError,
    DuplicateStepError,
    EndlessLoopError,
    MissingBranchError,
    UnknownStepError,
    UnreachableStepError,
)

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
_OPERATORS = ("equals", "in", "contains", "skipped")


class DialogCheck(AccueilError):
    """Every problem found in one dialog file (or set of files)."""

    def __init__(self, problems: list[DialogError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Ctx:
    path: str
    flow: str | None = None
    problems: list[DialogError] | None = None

    def fail(
        self,
        cls: type[DialogError],
        message: str,
        *,
        step: str | None = None,
        node: yaml.Node | None = None,
        line: int | None = None,
    ) -> None:
        if node is not None:
            line = node.start_mark.line + 1
        assert self.problems is not None
        self.problems.append(cls(message, path=self.path, flow=self.flow, step=step, line=line))


# --- pass 1: schema -----------------------------------------------------------


def _mapping(node: yaml.Node) -> dict[str, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            out[str(key.value)] = value
    return out


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value)
    return None


def _strings(node: yaml.Node | None) -> list[str] | None:
    if isinstance(node, yaml.SequenceNode):
        items = [_scalar(item) for item in node.value]
        if all(item is not None for item in items):
            return [item for item in items if item is not None]
    return None


def _compose(text: str, ctx: _Ctx) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        ctx.fail(DialogSchemaError, f"not valid YAML: {exc.problem}", line=line)
    except yaml.YAMLError as exc:
        ctx.fail(DialogSchemaError, f"not valid YAML: {exc}")
    return None


def _check_step_shape(node: yaml.Node, ctx: _Ctx) -> None:
    fields = _mapping(node)
    if fields is None:
        ctx.fail(DialogSchemaError, "each step must be a mapping with an `id` and a `kind`", node=node)
        return
    step_id = _scalar(fields.get("id"))
    if step_id is None or not _ID.match(step_id):
        ctx.fail(
            DialogSchemaError,
            "`id` must be lowercase letters, digits and underscores, starting with a letter",
            step=step_id,
            node=fields.get("id", node),
        )
    kind_text = _scalar(fields.get("kind"))
    kinds = ", ".join(k.value for k in StepKind)
    if kind_text is None or kind_text not in {k.value for k in StepKind}:
        ctx.fail(
            DialogSchemaError,
            f"`kind` must be one of: {kinds} (got {kind_text!r})",
            step=step_id,
            node=fields.get("kind", node),
        )
        return
    kind = StepKind(kind_text)
    allowed = _STEP_FIELDS[kind] | {"id", "kind"}
    for name in sorted(set(fields) - allowed):
        ctx.fail(
            DialogSchemaError,
            f"a {kind.value} step has no field `{name}` (allowed: {', '.join(sorted(allowed))})",
            step=step_id,
            node=fields[name],
        )
    for name in sorted(_REQUIRED[kind] - set(fields)):
        ctx.fail(DialogSchemaError, f"a {kind.value} step needs `{name}`", step=step_id, node=node)
    for name in ("text", "invalid"):
        if name in fields:
            key = _scalar(fields[name])
            if key is None or not _KEY.match(key):
                ctx.fail(
                    DialogSchemaError,
                    f"`{name}` must be a message key such as `intake.welcome`",
                    step=step_id,
                    node=fields[name],
                )
    if "save" in fields and (_scalar(fields["save"]) is None or not _ID.match(_scalar(fields["save"]) or "")):
        ctx.fail(DialogSchemaError, "`save` must be a name like `in_danger`", step=step_id, node=fields["save"])
    if "next" in fields:
        nxt = fields["next"]
        routes = _mapping(nxt)
        if _scalar(nxt) is None and (routes is None or not all(_scalar(v) for v in routes.values())):
            ctx.fail(
                DialogSchemaError,
                "`next` must be a step id, or a mapping from answers to step ids",
                step=step_id,
                node=nxt,
            )
    if "offer_person" in fields and _scalar(fields["offer_person"]) not in ("true", "false"):
        ctx.fail(DialogSchemaError, "`offer_person` must be true or false", step=step_id, node=fields["offer_person"])
    if "mark" in fields and _strings(fields["mark"]) is None:
        ctx.fail(DialogSchemaError, "`mark` must be a list of names", step=step_id, node=fields["mark"])
    if "options" in fields:
        options = fields["options"]
        if not isinstance(options, yaml.SequenceNode) or not options.value:
            ctx.fail(DialogSchemaError, "`options` must be a non-empty list", step=step_id, node=options)
        else:
            for option in options.value:
                of = _mapping(option) or {}
                value, label = _scalar(of.get("value")), _scalar(of.get("label"))
                if value is None or not _VALUE.match(value) or label is None or not _KEY.match(label):
                    ctx.fail(
                        DialogSchemaError,
                        "each option needs `value` (lowercase, at most 32 characters) and `label` (a message key)",
                        step=step_id,
                        node=option,
                    )
                elif value in {SKIP, DEFAULT, "done"}:
                    ctx.fail(DialogSchemaError, f"option value {value!r} is reserved", step=step_id, node=option)
    if "validate" in fields:
        rules = _mapping(fields["validate"])
        if rules is None or set(rules) - {"min_length", "max_length", "pattern"}:
            ctx.fail(
                DialogSchemaError,
                "`validate` may hold `min_length`, `max_length` and `pattern`",
                step=step_id,
                node=fields["validate"],
            )
        else:
            for name in ("min_length", "max_length"):
                if name in rules and not (_scalar(rules[name]) or "").isdigit():
                    ctx.fail(DialogSchemaError, f"`{name}` must be a whole number", step=step_id, node=rules[name])
            if "pattern" in rules:
                try:
                    re.compile(_scalar(rules["pattern"]) or "")
                except re.error as exc:
                    ctx.fail(
                        DialogSchemaError,
                        f"`pattern` is not a regular expression: {exc}",
                        step=step_id,
                        node=rules["pattern"],
                    )
    if "cases" in fields:
        cases = fields["cases"]
        if not isinstance(cases, yaml.SequenceNode) or not cases.value:
            ctx.fail(DialogSchemaError, "`cases` must be a non-empty list", step=step_id, node=cases)
        else:
            for case in cases.value:
                cf = _mapping(case) or {}
                if _scalar(cf.get("goto")) is None or "when" not in cf:
                    ctx.fail(DialogSchemaError, "each case needs `when` and `goto`", step=step_id, node=case)
                    continue
                when = cf["when"]
                conditions = when.value if isinstance(when, yaml.SequenceNode) else [when]
                for cond in conditions:
                    cm = _mapping(cond) or {}
                    ops = [op for op in _OPERATORS if op in cm]
                    if _scalar(cm.get("answer")) is None or len(ops) != 1 or set(cm) - {"answer", *_OPERATORS}:
                        ctx.fail(
                            DialogSchemaError,
                            "a condition is `answer: NAME` with exactly one of: " + ", ".join(_OPERATORS),
                            step=step_id,
                            node=cond,
                        )


def _check_schema(root: yaml.Node | None, ctx: _Ctx) -> dict[str, yaml.Node] | None:
    top = _mapping(root) if root is not None else None
    if top is None:
        ctx.fail(DialogSchemaError, "a dialog file is a mapping with `flow`, `start` and `steps`", line=1)
        return None
    flow = _scalar(top.get("flow"))
    if flow is None or not _ID.match(flow):
        ctx.fail(DialogSchemaError, "`flow` must name the flow, e.g. `flow: intake`", node=top.get("flow", root))
    else:
        ctx.flow = flow
    for name in sorted(set(top) - {"flow", "start", "steps", "description"}):
        ctx.fail(DialogSchemaError, f"unknown top-level field `{name}`", node=top[name])
    if _scalar(top.get("start")) is None:
        ctx.fail(DialogSchemaError, "`start` must name the first step", node=top.get("start", root))
    steps = top.get("steps")
    if not isinstance(steps, yaml.SequenceNode) or not steps.value:
        ctx.fail(DialogSchemaError, "`steps` must be a non-empty list", node=steps or root)
    else:
        for node in steps.value:
            _check_step_shape(node, ctx)
    return top


# --- pass 2: typed model ------------------------------------------------------


def _condition(node: yaml.Node) -> Condition:
    m = _mapping(node) or {}
    answer = _scalar(m["answer"]) or ""
    line = node.start_mark.line + 1
    if "equals" in m:
        return Condition(answer=answer, equals=_scalar(m["equals"]), line=line)
    if "in" in m:
        return Condition(answer=answer, one_of=tuple(_strings(m["in"]) or ()), line=line)
    if "contains" in m:
        return Condition(answer=answer, contains=_scalar(m["contains"]), line=line)
    return Condition(answer=answer, skipped=(_scalar(m["skipped"]) or "").lower() == "true", line=line)


def _build_step(node: yaml.Node) -> Step:
    f = _mapping(node) or {}
    kind = StepKind(_scalar(f["kind"]) or "")
    nxt_node = f.get("next")
    nxt: str | None = _scalar(nxt_node)
    routes: tuple[tuple[str, str], ...] = ()
    route_map = _mapping(nxt_node) if nxt_node is not None else None
    if route_map is not None:
        routes = tuple((k, _scalar(v) or "") for k, v in route_map.items())
    options = tuple(
        Option(
            value=_scalar((_mapping(o) or {})["value"]) or "",
            label=_scalar((_mapping(o) or {})["label"]) or "",
            line=o.start_mark.line + 1,
        )
        for o in (f["options"].value if isinstance(f.get("options"), yaml.SequenceNode) else [])
    )
    cases: list[Case] = []
    if isinstance(f.get("cases"), yaml.SequenceNode):
        for c in f["cases"].value:
            cm = _mapping(c) or {}
            when = cm["when"]
            conds = when.value if isinstance(when, yaml.SequenceNode) else [when]
            cases.append(
                Case(
                    when=tuple(_condition(x) for x in conds), goto=_scalar(cm["goto"]) or "", line=c.start_mark.line + 1
                )
            )
    validation = None
    if "validate" in f:
        v = _mapping(f["validate"]) or {}
        validation = Validation(
            min_length=int(_scalar(v["min_length"]) or 0) if "min_length" in v else None,
            max_length=int(_scalar(v["max_length"]) or 0) if "max_length" in v else None,
            pattern=_scalar(v.get("pattern")),
        )
    return Step(
        id=_scalar(f["id"]) or "",
        kind=kind,
        line=node.start_mark.line + 1,
        text=_scalar(f.get("text")),
        save=_scalar(f.get("save")),
        options=options,
        next=nxt,
        routes=routes,
        cases=tuple(cases),
        default=_scalar(f.get("default")),
        validate=validation,
        invalid=_scalar(f.get("invalid")),
        mark=tuple(_strings(f.get("mark")) or ()),
        reason=_scalar(f.get("reason")),
        offer_person=_scalar(f.get("offer_person")) != "false",
    )


def _build(top: Mapping[str, yaml.Node], ctx: _Ctx) -> Dialog:
    steps: dict[str, Step] = {}
    steps_node = top["steps"]
    assert isinstance(steps_node, yaml.SequenceNode)
    for node in steps_node.value:
        step = _build_step(node)
        if step.id in steps:
            ctx.fail(
                DuplicateStepError,
                f"step id is already used at line {steps[step.id].line}",
                step=step.id,
                line=step.line,
            )
            continue
        steps[step.id] = step
    return Dialog(flow=ctx.flow or "", path=ctx.path, start=_scalar(top["start"]) or "", steps=steps)


# --- pass 3: graph ------------------------------------------------------------


def _check_graph(dialog: Dialog, ctx: _Ctx) -> None:
    if dialog.start not in dialog.steps:
        ctx.fail(UnknownStepError, f"`start` names step {dialog.start!r}, which does not exist", line=1)
    saved = {s.save for s in dialog.steps.values() if s.save}
    for step in dialog.steps.values():
        for target in step.targets():
            if target not in dialog.steps:
                ctx.fail(
                    UnknownStepError, f"leads to step {target!r}, which does not exist", step=step.id, line=step.line
                )
        if step.kind in TERMINAL_KINDS:
            continue
        _check_routes(step, ctx)
        for case in step.cases:
            for cond in case.when:
                if cond.answer not in saved:
                    ctx.fail(
                        UnknownStepError,
                        f"tests answer {cond.answer!r}, which no step saves",
                        step=step.id,
                        line=cond.line,
                    )
    reachable = _reachable(dialog)
    for step in dialog.steps.values():
        if step.id not in reachable:
            ctx.fail(UnreachableStepError, "no path from the start reaches this step", step=step.id, line=step.line)
    _check_silent_loops(dialog, ctx)


def _check_routes(step: Step, ctx: _Ctx) -> None:
    if not step.routes:
        return
    keys = [k for k, _ in step.routes]
    if step.kind == StepKind.YES_NO:
        expected = {"yes", "no", SKIP}
    elif step.kind == StepKind.SINGLE_CHOICE:
        expected = {o.value for o in step.options} | {SKIP}
    else:
        ctx.fail(
            MissingBranchError,
            f"a {step.kind.value} step takes one `next` step; use a branch step to choose",
            step=step.id,
            line=step.line,
        )
        return
    for key in keys:
        if key not in expected | {DEFAULT}:
            ctx.fail(
                MissingBranchError,
                f"`next` names {key!r}, which is not an answer of this step",
                step=step.id,
                line=step.line,
            )
    if DEFAULT not in keys:
        for missing in sorted(expected - set(keys)):
            ctx.fail(
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


def _check_silent_loops(dialog: Dialog, ctx: _Ctx) -> None:
    """A cycle made only of say and branch steps would never stop."""
    silent = {s.id for s in dialog.steps.values() if s.kind in (StepKind.SAY, StepKind.BRANCH)}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in dialog.steps[node].targets():
            if target not in silent:
                continue
            if state.get(target) == 1:
                loop = [*trail[trail.index(target) :], target] if target in trail else [node, target]
                ctx.fail(
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


# --- entry points -------------------------------------------------------------


def parse_dialog(text: str, path: str) -> Dialog:
    """Load one dialog from its text; raise `DialogCheck` listing every problem."""
    ctx = _Ctx(path=path, problems=[])
    assert ctx.problems is not None
    root = _compose(text, ctx)
    if ctx.problems:  # nothing more can be said about a file that is not YAML
        raise DialogCheck(ctx.problems)
    top = _check_schema(root, ctx)
    if ctx.problems or top is None:
        raise DialogCheck(ctx.problems)
    dialog = _build(top, ctx)
    _check_graph(dialog, ctx)
    if ctx.problems:
        raise DialogCheck(ctx.problems)
    return dialog


def load_dialog(path: Path) -> Dialog:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialogCheck([DialogSchemaError(f"cannot read the file: {exc}", path=str(path))]) from exc
    return parse_dialog(text, str(path))


def load_dialogs(paths: Iterable[Path]) -> dict[str, Dialog]:
    """Load several dialog files; every problem in every file is reported together."""
    dialogs: dict[str, Dialog] = {}
    problems: list[DialogError] = []
    for path in sorted(paths):
        try:
            dialog = load_dialog(path)
        except DialogCheck as check:
            problems.extend(check.problems)
            continue
        if dialog.flow in dialogs:
            problems.append(
                DialogSchemaError(
                    f"flow {dialog.flow!r} is also defined in {dialogs[dialog.flow].path}",
                    path=str(path),
                    flow=dialog.flow,
                )
            )
        dialogs[dialog.flow] = dialog
    if problems:
        raise DialogCheck(problems)
    return dialogs
