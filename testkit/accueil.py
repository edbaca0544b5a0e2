"""The `accueil` command as an operator runs it: its own process, started from the project folder,
with an environment that holds only what the test gives it (no ACCUEIL_* from the caller's shell)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from bot.app.settings import PROJECT_ROOT


def accueil_argv(*args: str) -> list[str]:
    """The command line of `accueil ARGS`, run by this interpreter."""
    return [sys.executable, "-m", "bot.app.cli", *args]


def operator_env(**values: str) -> dict[str, str]:
    """This process's environment without any ACCUEIL_* variable, then `values`. The web side is off
    unless `values` sets ACCUEIL_WEB_LISTEN (each test that serves it picks a free port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    env["ACCUEIL_WEB_LISTEN"] = "off"
    env.update(values)
    return env


def run_accueil(
    *args: str, env: Mapping[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `accueil ARGS` to the end; stdin is closed unless `stdin` gives what to type."""
    return subprocess.run(  # noqa: S603 (this interpreter, our own command)
        accueil_argv(*args),
        cwd=PROJECT_ROOT,
        env=dict(env),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
