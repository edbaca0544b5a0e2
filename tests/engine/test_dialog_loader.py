"""The dialog validator on broken files: every problem names file, flow and step."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import errors
from bot.engine import DialogCheck, StepKind, load_dialog, load_dialogs, parse_dialog
from bot.engine.model import Validation
from bot.errors import (
    DialogError,
    DialogSchemaError,
    DuplicateStepError,
    EndlessLoopError,
    MissingBranchError,
    UnknownStepError,
    UnreachableStepError,
)

ROOT = Path(__file__).resolve().parents[2]
PATH = "dialogs/demo.yaml"


def problems(text: str, path: str = PATH) -> list[DialogError]:
    with pytest.raises(DialogCheck) as caught:
        parse_dialog(text, path)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return caught.value.problems


def only(text: str, cls: type[DialogError]) -> DialogError:
    found = problems(text)
    assert [type(p) for p in found] == [cls], [str(p) for p in found]
    return found[0]


def test_the_real_intake_loads() -> None:
    dialog = load_dialog(ROOT / "dialogs" / "intake.yaml")
    assert (dialog.flow, dialog.start, dialog.path) == ("intake", "language", str(ROOT / "dialogs" / "intake.yaml"))
    assert len(dialog.steps) == 23
    assert dialog.step("needs").kind == StepKind.MULTI_CHOICE
    assert [o.value for o in dialog.step("documents").options] == ["yes", "some", "taken", "no"]
    assert dialog.step("safety").routes == (("yes", "emergency"), ("no", "about"), ("skip", "about"))
    assert dialog.step("location").validate == Validation(max_length=120)
    assert dialog.step("no_consent_choice").offer_person is False


def test_invalid_yaml_names_the_line() -> None:
    problem = only("flow: demo\nstart: a\nsteps:\n  - id: a\n    kind: [say\n", DialogSchemaError)
    assert problem.line == 6
    assert str(problem) == "dialogs/demo.yaml:6: not valid YAML: expected ',' or ']', but got '<stream end>'"


def test_broken_file_on_disk_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("flow: demo\nstart: greet\nsteps:\n  - {id: greet, kind: say, text: demo.hello, next: nowhere}\n")
    with pytest.raises(DialogCheck) as caught:
        load_dialog(path)
    [problem] = caught.value.problems
    assert isinstance(problem, UnknownStepError)
    assert (problem.path, problem.flow, problem.step, problem.line) == (str(path), "demo", "greet", 4)
    assert str(problem) == f"{path}:4, flow 'demo', step 'greet': leads to step 'nowhere', which does not exist"


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(DialogCheck) as caught:
        load_dialog(path)
    [problem] = caught.value.problems
    assert isinstance(problem, DialogSchemaError)
    assert str(problem).startswith(f"{path}: cannot read the file: ")


def test_not_a_mapping() -> None:
    for text in ("", "- a\n- b\n"):
        problem = only(text, DialogSchemaError)
        assert str(problem) == "dialogs/demo.yaml:1: a dialog file is a mapping with `flow`, `start` and `steps`"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "start: a\nsteps:\n  - {id: a, kind: end}\n",
            "dialogs/demo.yaml:1: `flow` must name the flow, e.g. `flow: intake`",
        ),
        (
            "flow: Demo Flow\nstart: a\nsteps:\n  - {id: a, kind: end}\n",
            "dialogs/demo.yaml:1: `flow` must name the flow, e.g. `flow: intake`",
        ),
        (
            "flow: demo\nsteps:\n  - {id: a, kind: end}\n",
            "dialogs/demo.yaml:1, flow 'demo': `start` must name the first step",
        ),
        (
            "flow: demo\nstart: a\n",
            "dialogs/demo.yaml:1, flow 'demo': `steps` must be a non-empty list",
        ),
        (
            "flow: demo\nstart: a\nsteps: []\n",
            "dialogs/demo.yaml:3, flow 'demo': `steps` must be a non-empty list",
        ),
        (
            "flow: demo\nstart: a\nversion: 2\nsteps:\n  - {id: a, kind: end}\n",
            "dialogs/demo.yaml:3, flow 'demo': unknown top-level field `version`",
        ),
    ],
)
def test_top_level_problems(text: str, message: str) -> None:
    assert str(only(text, DialogSchemaError)) == message


def test_unknown_kind() -> None:
    problem = only("flow: demo\nstart: a\nsteps:\n  - {id: a, kind: teleport}\n", DialogSchemaError)
    assert (problem.flow, problem.step, problem.line) == ("demo", "a", 4)
    assert str(problem) == (
        "dialogs/demo.yaml:4, flow 'demo', step 'a': `kind` must be one of: say, language, single_choice, "
        "multi_choice, yes_no, free_text, branch, handoff, end (got 'teleport')"
    )


def test_unknown_field() -> None:
    text = "flow: demo\nstart: a\nsteps:\n  - id: a\n    kind: end\n    colour: red\n"
    problem = only(text, DialogSchemaError)
    assert str(problem) == (
        "dialogs/demo.yaml:6, flow 'demo', step 'a': a end step has no field `colour` (allowed: id, kind, mark, text)"
    )


def test_field_that_belongs_to_another_kind() -> None:
    text = "flow: demo\nstart: a\nsteps:\n  - {id: a, kind: yes_no, text: demo.a, save: a, next: b, offer: [1]}\n"
    text += "  - {id: b, kind: end}\n"
    problem = only(text, DialogSchemaError)
    assert problem.step == "a"
    assert problem.detail == (
        "a yes_no step has no field `offer` (allowed: id, kind, mark, next, offer_person, save, text)"
    )


@pytest.mark.parametrize("key", ["Hello there", "welcome", "intake.Welcome", "intake..x"])
def test_bad_message_key(key: str) -> None:
    text = f"flow: demo\nstart: a\nsteps:\n  - id: a\n    kind: end\n    text: {key}\n"
    problem = only(text, DialogSchemaError)
    assert str(problem) == (
        "dialogs/demo.yaml:6, flow 'demo', step 'a': `text` must be a message key such as `intake.welcome`"
    )


def test_bad_option_label_and_reserved_value() -> None:
    text = (
        "flow: demo\nstart: a\nsteps:\n"
        "  - id: a\n    kind: single_choice\n    text: demo.a\n    save: a\n    next: b\n"
        "    options:\n"
        "      - {value: ok, label: Just words}\n"
        "      - {value: skip, label: demo.skip}\n"
        "  - {id: b, kind: end}\n"
    )
    found = problems(text)
    assert [(type(p), p.step, p.line) for p in found] == [(DialogSchemaError, "a", 10), (DialogSchemaError, "a", 11)]
    assert "each option needs `value`" in found[0].detail
    assert found[1].detail == "option value 'skip' is reserved"


def test_next_to_a_missing_step() -> None:
    text = "flow: demo\nstart: greet\nsteps:\n  - {id: greet, kind: say, text: demo.hello, next: nowhere}\n"
    problem = only(text, UnknownStepError)
    assert (problem.path, problem.flow, problem.step, problem.line) == (PATH, "demo", "greet", 4)
    assert str(problem) == (
        "dialogs/demo.yaml:4, flow 'demo', step 'greet': leads to step 'nowhere', which does not exist"
    )


def test_start_names_a_missing_step() -> None:
    problem = problems("flow: demo\nstart: nowhere\nsteps:\n  - {id: a, kind: end}\n")[0]
    assert isinstance(problem, UnknownStepError)
    assert str(problem) == "dialogs/demo.yaml:1, flow 'demo': `start` names step 'nowhere', which does not exist"


def test_unreachable_step() -> None:
    text = "flow: demo\nstart: a\nsteps:\n  - {id: a, kind: end}\n  - {id: orphan, kind: end}\n"
    problem = only(text, UnreachableStepError)
    assert str(problem) == "dialogs/demo.yaml:5, flow 'demo', step 'orphan': no path from the start reaches this step"


def test_duplicate_step_id_names_both_lines() -> None:
    text = (
        "flow: demo\nstart: a\nsteps:\n"
        "  - {id: a, kind: say, text: demo.a, next: b}\n"
        "  - {id: b, kind: end}\n"
        "  - {id: b, kind: end, text: demo.again}\n"
    )
    problem = only(text, DuplicateStepError)
    assert (problem.step, problem.line) == ("b", 6)
    assert str(problem) == "dialogs/demo.yaml:6, flow 'demo', step 'b': step id is already used at line 5"


def test_yes_no_mapping_without_no() -> None:
    text = (
        "flow: demo\nstart: ask\nsteps:\n"
        "  - id: ask\n    kind: yes_no\n    text: demo.ask\n    save: ok\n"
        '    next: {"yes": done, skip: done}\n'
        "  - {id: done, kind: end}\n"
    )
    problem = only(text, MissingBranchError)
    assert str(problem) == (
        "dialogs/demo.yaml:4, flow 'demo', step 'ask': "
        "answer 'no' has nowhere to go (add it to `next`, or add `default`)"
    )


def test_yes_no_mapping_with_default_is_complete() -> None:
    text = (
        "flow: demo\nstart: ask\nsteps:\n"
        "  - id: ask\n    kind: yes_no\n    text: demo.ask\n    save: ok\n"
        '    next: {"yes": done, default: done}\n'
        "  - {id: done, kind: end}\n"
    )
    assert parse_dialog(text, PATH).step("ask").routes == (("yes", "done"), ("default", "done"))


def test_single_choice_mapping_with_a_key_that_is_not_an_option() -> None:
    text = (
        "flow: demo\nstart: pick\nsteps:\n"
        "  - id: pick\n    kind: single_choice\n    text: demo.pick\n    save: pick\n"
        "    options: [{value: tea, label: demo.tea}]\n"
        "    next: {tea: done, coffee: done, default: done}\n"
        "  - {id: done, kind: end}\n"
    )
    problem = only(text, MissingBranchError)
    assert str(problem) == (
        "dialogs/demo.yaml:4, flow 'demo', step 'pick': `next` names 'coffee', which is not an answer of this step"
    )


def test_multi_choice_takes_a_single_next() -> None:
    text = (
        "flow: demo\nstart: pick\nsteps:\n"
        "  - id: pick\n    kind: multi_choice\n    text: demo.pick\n    save: pick\n"
        "    options: [{value: tea, label: demo.tea}]\n"
        "    next: {tea: done, default: done}\n"
        "  - {id: done, kind: end}\n"
    )
    problem = only(text, MissingBranchError)
    assert problem.detail == "a multi_choice step takes one `next` step; use a branch step to choose"


def test_branch_on_an_answer_no_step_saves() -> None:
    text = (
        "flow: demo\nstart: route\nsteps:\n"
        "  - id: route\n    kind: branch\n    cases:\n"
        "      - when: {answer: age, equals: minor}\n        goto: done\n"
        "    default: done\n"
        "  - {id: done, kind: end}\n"
    )
    problem = only(text, UnknownStepError)
    assert (problem.step, problem.line) == ("route", 7)
    assert str(problem) == "dialogs/demo.yaml:7, flow 'demo', step 'route': tests answer 'age', which no step saves"


def test_condition_with_two_operators() -> None:
    text = (
        "flow: demo\nstart: route\nsteps:\n"
        "  - id: route\n    kind: branch\n    cases:\n"
        "      - when: {answer: age, equals: minor, skipped: true}\n        goto: done\n"
        "    default: done\n"
        "  - {id: done, kind: end}\n"
    )
    problem = only(text, DialogSchemaError)
    assert problem.detail == "a condition is `answer: NAME` with exactly one of: equals, in, contains, skipped"


def test_say_steps_in_a_loop() -> None:
    text = (
        "flow: demo\nstart: ask\nsteps:\n"
        "  - {id: ask, kind: yes_no, text: demo.ask, save: ok, next: one}\n"
        "  - {id: one, kind: say, text: demo.one, next: two}\n"
        "  - {id: two, kind: say, text: demo.two, next: three}\n"
        "  - {id: three, kind: say, text: demo.three, next: two}\n"
    )
    problem = only(text, EndlessLoopError)
    assert str(problem) == (
        "dialogs/demo.yaml:6, flow 'demo', step 'two': these steps loop without asking anything: two -> three -> two"
    )


def test_loop_through_a_question_is_fine() -> None:
    text = (
        "flow: demo\nstart: ask\nsteps:\n"
        "  - {id: ask, kind: yes_no, text: demo.ask, save: ok, next: {'yes': done, default: again}}\n"
        "  - {id: again, kind: say, text: demo.again, next: ask}\n"
        "  - {id: done, kind: end}\n"
    )
    assert list(parse_dialog(text, PATH).steps) == ["ask", "again", "done"]


def test_several_problems_are_reported_together() -> None:
    text = (
        "flow: demo\nstart: a\nsteps:\n"
        "  - {id: a, kind: teleport}\n"
        "  - {id: b, kind: end, colour: red}\n"
        "  - {id: c, kind: say}\n"
        "  - {id: D, kind: end}\n"
    )
    with pytest.raises(DialogCheck) as caught:
        parse_dialog(text, PATH)
    found = caught.value.problems
    assert [(type(p), p.step, p.line) for p in found] == [
        (DialogSchemaError, "a", 4),
        (DialogSchemaError, "b", 5),
        (DialogSchemaError, "c", 6),
        (DialogSchemaError, "c", 6),
        (DialogSchemaError, "D", 7),
    ]
    assert [p.detail for p in found[2:]] == [
        "a say step needs `next`",
        "a say step needs `text`",
        "`id` must be lowercase letters, digits and underscores, starting with a letter",
    ]
    assert str(caught.value).splitlines() == [str(p) for p in found]
    assert all(str(p).startswith("dialogs/demo.yaml:") for p in found)


def test_graph_problems_are_reported_together() -> None:
    text = (
        "flow: demo\nstart: a\nsteps:\n"
        "  - {id: a, kind: say, text: demo.a, next: zz}\n"
        "  - {id: b, kind: end}\n"
        "  - {id: b, kind: end}\n"
    )
    with pytest.raises(DialogCheck) as caught:
        parse_dialog(text, PATH)
    assert [(type(p), p.step, p.line) for p in caught.value.problems] == [
        (DuplicateStepError, "b", 6),
        (UnknownStepError, "a", 4),
        (UnreachableStepError, "b", 5),
    ]


def test_load_dialogs_reports_every_file_and_duplicate_flows(tmp_path: Path) -> None:
    good = "flow: demo\nstart: a\nsteps:\n  - {id: a, kind: end}\n"
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text(good)
    (tmp_path / "c.yaml").write_text("flow: other\nstart: a\nsteps:\n  - {id: a, kind: say, text: x.y, next: zz}\n")
    with pytest.raises(DialogCheck) as caught:
        load_dialogs(tmp_path.glob("*.yaml"))
    assert [(type(p), p.path) for p in caught.value.problems] == [
        (DialogSchemaError, str(tmp_path / "b.yaml")),
        (UnknownStepError, str(tmp_path / "c.yaml")),
    ]
    assert str(caught.value.problems[0]) == (
        f"{tmp_path / 'b.yaml'}, flow 'demo': flow 'demo' is also defined in {tmp_path / 'a.yaml'}"
    )
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "c.yaml").unlink()
    assert list(load_dialogs(tmp_path.glob("*.yaml"))) == ["demo"]


def test_dialog_check_is_drawn_in_the_one_error_tree() -> None:
    assert DialogCheck is errors.DialogCheck
    assert issubclass(DialogCheck, errors.AccueilError)
    tree = errors.__doc__ or ""
    rules = (
        DialogSchemaError,
        DuplicateStepError,
        UnknownStepError,
        UnreachableStepError,
        MissingBranchError,
        EndlessLoopError,
    )
    for cls in (DialogCheck, DialogError, *rules):
        assert f"── {cls.__name__} " in tree, cls
    with pytest.raises(errors.AccueilError) as caught:
        parse_dialog("flow: demo\n", PATH)
    assert isinstance(caught.value, DialogCheck)
