"""An operator's command whose reader went away (`accueil ... | head`) ends quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.app.settings import PROJECT_ROOT


def test_a_command_whose_output_pipe_is_closed_ends_quietly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    env["ACCUEIL_DATA_DIR"] = str(tmp_path / "data")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes a byte, as after `| head -0`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.app.cli", "dialogs", "check"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode == 0, done.stderr
