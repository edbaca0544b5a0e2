"""The `accueil` command as an operator runs it: a real process, its exit code, stdout and stderr."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.app.settings import PROJECT_ROOT
from storage.db import MIGRATIONS
from testkit.accueil import run_accueil
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, start_accueil_run

TIMEOUT = 60


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any ACCUEIL_ setting, a fresh data directory, then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    env["ACCUEIL_DATA_DIR"] = str(tmp_path / "data")
    env.update(extra)
    return env


def _accueil(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_accueil(*args, env=env, stdin=stdin, timeout=TIMEOUT)


def _with_recipient(tmp_path: Path) -> dict[str, str]:
    """An environment whose database has a recipient key, made as an operator does (`accueil keys init`)."""
    env = _env(tmp_path)
    made = _accueil(
        {**env, "ACCUEIL_KEY_PASSPHRASE": "a long enough passphrase"},
        "keys",
        "init",
        "--out",
        str(tmp_path / "caseworker.key"),
    )
    assert made.returncode == 0, made.stderr
    return env


def _not_logs(stderr: str) -> list[str]:
    """The lines of stderr that are not JSON log lines."""
    out = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if not (isinstance(entry, dict) and {"at", "level", "logger", "event"} <= entry.keys()):
            out.append(line)
    return out


def test_dialogs_check_accepts_the_shipped_content(tmp_path: Path) -> None:
    result = _accueil(_env(tmp_path), "dialogs", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 dialog(s), "), result.stdout
    assert "en (draft)" in result.stdout and "fr (draft)" in result.stdout
    assert result.stdout.endswith(": all good\n")
    assert _not_logs(result.stderr) == []


def test_a_step_leading_nowhere_is_named_with_its_file_flow_and_step(tmp_path: Path) -> None:
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    original = (PROJECT_ROOT / "dialogs" / "intake.yaml").read_text(encoding="utf-8")
    step = "  - id: emergency\n    kind: say\n    text: intake.safety.emergency\n    mark: [urgent]\n    next: about\n"
    assert original.count(step) == 1
    broken = dialogs / "intake.yaml"
    broken.write_text(original.replace(step, step.replace("next: about", "next: abuot")), encoding="utf-8")

    result = _accueil(_env(tmp_path, ACCUEIL_DIALOGS_DIR=str(dialogs)), "dialogs", "check")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = _not_logs(result.stderr)
    assert len(lines) == 2, result.stderr
    problem, summary = lines
    assert problem.startswith(f"accueil: {broken}:")
    assert "flow 'intake'" in problem
    assert "step 'emergency'" in problem
    assert "'abuot'" in problem
    assert summary == "accueil: 1 problem(s) in the dialogs or catalogs"


def test_a_catalog_missing_a_key_is_refused_naming_the_key(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(PROJECT_ROOT / "locales", locales)
    catalog = locales / "en" / "LC_MESSAGES" / "accueil.po"
    entry = 'msgid "intake.writer.self"\nmsgstr "For myself"\n'
    text = catalog.read_text(encoding="utf-8")
    assert text.count(entry) == 1
    catalog.write_text(text.replace(entry, ""), encoding="utf-8")

    result = _accueil(_env(tmp_path, ACCUEIL_LOCALES_DIR=str(locales)), "dialogs", "check")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = _not_logs(result.stderr)
    assert len(lines) == 2, result.stderr
    assert "'intake.writer.self'" in lines[0]
    assert str(catalog) in lines[0]
    assert lines[1] == "accueil: 1 problem(s) in the dialogs or catalogs"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCUEIL_DATABASE_URL", "mysql://x"),
        ("ACCUEIL_TELEGRAM_API_BASE", "ftp://x"),
        ("ACCUEIL_LOG_LEVEL", "LOUD"),
        ("ACCUEIL_TELEGRAM_TOKEN", "nonsense"),
    ],
)
def test_a_bad_setting_gives_one_line_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    result = _accueil(_env(tmp_path, **{variable: value}), "db", "upgrade")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"accueil: {variable} ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "accueil.db").exists()


def test_db_upgrade_twice(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = _accueil(env, "db", "upgrade")
    assert (first.returncode, first.stdout) == (0, "database is up to date\n"), first.stderr
    assert "Running upgrade  -> 0001" in first.stderr
    second = _accueil(env, "db", "upgrade")
    assert (second.returncode, second.stdout) == (0, "database is up to date\n"), second.stderr
    assert "Running upgrade" not in second.stderr
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "accueil.db")) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


def test_shell_opens_the_intake_in_the_terminal(tmp_path: Path) -> None:
    # English, then No (not in danger), then Yes (consent), then end of input.
    result = _accueil(_with_recipient(tmp_path), "shell", stdin="2\n2\n1\n")
    assert result.returncode == 0, result.stderr
    assert _not_logs(result.stderr) == []
    out = result.stdout
    in_order = [
        "Choisissez votre langue.\nChoose your language.\n   [1] Français   [2] English\n",
        "  → English\n",
        "Are you in danger right now?\n   [1] Yes   [2] No\n",
        "  → No\n",
        "Do you agree that the association keeps your answers, so that it can help you?\n   [1] Yes   [2] No\n",
        "  → Yes\n",
        "Are you writing for yourself, or for someone else?\n   [1] For myself\n",
    ]
    positions = [out.find(fragment) for fragment in in_order]
    assert -1 not in positions, out
    assert positions == sorted(positions), out
    for fragment in in_order:
        assert out.count(fragment) == 1, fragment
    # Nothing was asked after the writer question: input ended there.
    assert "What happened?" not in out


def test_shell_with_an_unknown_language_lists_the_available_ones(tmp_path: Path) -> None:
    result = _accueil(_with_recipient(tmp_path), "shell", "--lang", "xx")
    assert result.returncode == 2
    assert result.stdout == ""
    shipped = sorted(p.parent.parent.name for p in (PROJECT_ROOT / "locales").glob("*/LC_MESSAGES/accueil.po"))
    assert {"en", "fr"} <= set(shipped)
    assert _not_logs(result.stderr) == [f"accueil: no catalog for 'xx'; available: {', '.join(shipped)}"]


async def test_run_with_a_refused_token_says_so_in_one_line(tmp_path: Path) -> None:
    env = {**_with_recipient(tmp_path), "ACCUEIL_TELEGRAM_TOKEN": "654321:not-the-right-one"}
    async with FakeBotAPI(token=TOKEN) as api:
        process = await start_accueil_run(api, env)
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout=TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 2
        assert out == b""
        stderr = err.decode()
        assert "Traceback" not in stderr
        refusal = "accueil: ACCUEIL_TELEGRAM_TOKEN was refused by the Bot API; copy it again from @BotFather"
        assert _not_logs(stderr) == [refusal]
        assert stderr.splitlines()[-1] == refusal


def test_staff_add_list_remove_and_the_interpreters_in_the_language_matrix(tmp_path: Path) -> None:
    env = _env(tmp_path)
    added = _accueil(env, "staff", "add", "--telegram-id", "123456789", "--name", "Marie", "--role", "caseworker")
    assert added.returncode == 0, added.stderr
    assert "added caseworker Marie (staff id 1)" in added.stdout and "press Start once" in added.stdout
    interpreter = _accueil(
        env,
        "staff",
        "add",
        "--telegram-id",
        "987654321",
        "--name",
        "Samira",
        "--role",
        "interpreter",
        "--languages",
        "AR, ti",
    )
    assert interpreter.returncode == 0, interpreter.stderr
    listed = _accueil(env, "staff", "list")
    assert listed.returncode == 0
    assert "Marie" in listed.stdout and "ar,ti" in listed.stdout
    assert "123456789" not in listed.stdout  # the Telegram id is never shown, nor stored in clear
    matrix = {line.split()[0]: line.split() for line in _accueil(env, "languages").stdout.splitlines()[1:]}
    assert matrix["ar"][-1] == "1" and matrix["ti"][-1] == "1" and matrix["fa"][-1] == "0"

    again = _accueil(env, "staff", "add", "--telegram-id", "123456789", "--name", "Marie D.", "--role", "caseworker")
    assert "updated caseworker Marie D. (staff id 1)" in again.stdout
    removed = _accueil(env, "staff", "remove", "1")
    assert removed.returncode == 0 and "removed Marie D." in removed.stdout
    assert "Marie" not in _accueil(env, "staff", "list").stdout
    for wrong, names in (
        (("staff", "remove", "1"), "there is no staff member 1"),
        (
            ("staff", "add", "--telegram-id", "5", "--name", "X", "--role", "caseworker", "--languages", "a r"),
            "--languages",
        ),
        (("staff", "add", "--telegram-id", "5", "--name", " ", "--role", "caseworker"), "--name"),
    ):
        failed = _accueil(env, *wrong)
        assert failed.returncode == 2 and names in failed.stderr and "Traceback" not in failed.stderr
