"""Load dialog files in three passes.

1. **Schema** (`schema.py`): the YAML is composed into nodes (so every value
   keeps its line) and its shape is checked, with messages a translator can act on.
2. **Typed model** (`build.py`): nodes become `Step` objects carrying their line
   numbers; duplicate ids are caught here.
3. **Graph** (`graph.py`): every target exists, every step is reachable from the
   start, every answer has somewhere to go, no loop runs without asking a question.

Every pass collects all the problems it can before failing, and the
`DialogCheck` raised lists them all; each names the file, the flow and the step,
with one error class per rule (see `bot.errors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bot.engine.loader.build import build
from bot.engine.loader.graph import check_graph
from bot.engine.loader.problems import Problems
from bot.engine.loader.schema import check_schema, compose
from bot.engine.model import Dialog
from bot.errors import DialogCheck, DialogError, DialogSchemaError

__all__ = ["DialogCheck", "load_dialog", "load_dialogs", "parse_dialog"]


def parse_dialog(text: str, path: str) -> Dialog:
    """Load one dialog from its text; raise `DialogCheck` listing every problem."""
    problems = Problems(path)
    root = compose(text, problems)
    if problems:  # nothing more can be said about a file that is not YAML
        raise DialogCheck(problems.found)
    top = check_schema(root, problems)
    if problems or top is None:
        raise DialogCheck(problems.found)
    dialog = build(top, problems)
    check_graph(dialog, problems)
    if problems:
        raise DialogCheck(problems.found)
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
