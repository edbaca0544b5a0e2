"""storage/ is the bottom layer: it imports nothing of bot/ (bot/ builds on it, never the reverse)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.app.settings import PROJECT_ROOT


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
    return names


def test_storage_imports_nothing_of_bot() -> None:
    modules = [p for p in (PROJECT_ROOT / "storage").rglob("*.py") if "migrations" not in p.parts]
    assert len(modules) > 5
    climbing = {
        str(path.relative_to(PROJECT_ROOT)): sorted(n for n in _imported(path) if n == "bot" or n.startswith("bot."))
        for path in modules
    }
    assert {path: names for path, names in climbing.items() if names} == {}


def test_the_error_tree_has_one_root_shared_by_both_layers() -> None:
    import bot.errors
    import storage.errors

    assert bot.errors.AccueilError is storage.errors.AccueilError
    assert issubclass(bot.errors.DialogCheck, storage.errors.AccueilError)
    assert issubclass(bot.errors.DeliveryError, storage.errors.AccueilError)


def test_no_module_of_bot_or_storage_is_over_400_lines() -> None:
    modules = [
        p
        for folder in ("bot", "storage")
        for p in (PROJECT_ROOT / folder).rglob("*.py")
        if "migrations" not in p.parts
    ]
    long = {str(p.relative_to(PROJECT_ROOT)): n for p in modules if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
