"""Files and folders only the bot's own user may open: the data directory and the database's files.

The data directory is created with mode 0700. One found more open (every data
directory made before this rule was 0755) is tightened to 0700, with a warning,
rather than refused: nothing but the bot has any business in it, so closing it
takes nothing away, while refusing would stop every existing installation at
its next start for something the bot can safely put right itself. When it
cannot (the directory belongs to another user), the operator gets one line.
The folder that holds an SQLite database is treated the same way: SQLite
creates its -wal, -shm and -journal files there.

Files are made private without touching the process umask, which every thread
shares: a file is created with `O_EXCL` and mode 0600 before anyone writes to
it, and an existing one is tightened with `chmod`, which opens nothing.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from bot.errors import ConfigError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
log = logging.getLogger("accueil.storage")


def private_directory(path: Path) -> Path:
    """`path` as a directory only its owner can enter: created 0700, or tightened to 0700."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileExistsError as exc:
        raise ConfigError(f"{path} should be a directory, but it is a file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot create the directory {path}: {exc.strerror}") from exc
    if mode & 0o077:
        try:
            path.chmod(PRIVATE_DIR)
        except OSError as exc:
            raise ConfigError(
                f"{path} is open to other users (mode {mode:o}) and cannot be closed: run chmod 700 {path} as its owner"
            ) from exc
        log.warning("directory made private (mode 700)", extra={"path": str(path), "was": f"{mode:o}"})
    return path


def private_file(path: Path) -> None:
    """Tighten `path` to 0600 if it exists and others may open it; never opens it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(PRIVATE_FILE)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot make {path} private: {exc.strerror}; run chmod 600 {path} as its owner") from exc


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist; an existing file is left unopened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from exc
    os.close(fd)
