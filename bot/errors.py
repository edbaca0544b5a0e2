"""Every error Accueil raises on purpose, under one root.

    AccueilError
    ├── ConfigError            a setting is missing or malformed (names it)
    ├── DialogCheck            every problem found in the dialogs and catalogs at once:
    │                          `.problems`, each one of the DialogErrors below
    ├── DialogError            a dialog file or catalog breaks a rule
    │   ├── DialogSchemaError      pass 1: shape of the YAML
    │   ├── DuplicateStepError     pass 2: two steps share an id
    │   ├── UnknownStepError       pass 3: a step leads to a step that does not exist
    │   ├── UnreachableStepError   pass 3: no path from the start reaches a step
    │   ├── MissingBranchError     pass 3: an answer has nowhere to go
    │   ├── EndlessLoopError       pass 3: steps that loop without asking anything
    │   ├── MissingMessageError    catalogs: a key the dialog uses is absent
    │   └── PlaceholderMismatchError catalogs: a translation's {placeholders} differ
    ├── StorageError           the database cannot be reached or is not migrated
    ├── DeliveryError          a message could not be delivered to a chat
    │   ├── RetryLater             try again after `after` seconds, or on the backoff (outage)
    │   ├── RecipientGone          the chat cannot be reached any more (bot blocked)
    │   ├── Refused                refused for good (bad request, not found, too large): set aside
    │   └── TokenRevoked           the bot's token is no longer valid: stop, keep the queue
    ├── SealError              sealed data cannot be opened (one opaque error)
    └── TranscriptUnreadable   a transcript cannot be read: wrong, revoked or
                               missing key, or an entry altered, moved or removed

The root and the errors the storage layer raises (`AccueilError`, `ConfigError`,
`StorageError`, `SealError`, `TranscriptUnreadable`) live in `storage/errors.py`, so that
`storage/` depends on nothing of `bot/`; this module re-exports them.

Foreign exceptions are mapped at the boundary with ``raise ... from exc``.
Operators see ``str(error)``: one line that says what to do. Victims never see
an exception; the channels answer them with a kind message instead.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from storage.errors import AccueilError, ConfigError, SealError, StorageError, TranscriptUnreadable

__all__ = [
    "AccueilError",
    "ConfigError",
    "SealError",
    "StorageError",
    "TranscriptUnreadable",
]

#: Where Accueil's own source lives: frames under it are named in operators' logs.
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


class DialogError(AccueilError):
    """A dialog or catalog breaks a rule; the message names file, flow and step."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        flow: str | None = None,
        step: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.flow = flow
        self.step = step
        self.line = line
        self.detail = message
        where = path if line is None else f"{path}:{line}"
        parts = [where]
        if flow is not None:
            parts.append(f"flow {flow!r}")
        if step is not None:
            parts.append(f"step {step!r}")
        super().__init__(f"{', '.join(parts)}: {message}")


class DialogCheck(AccueilError):
    """Every problem found in one dialog file (or a set of files and catalogs), one line each."""

    def __init__(self, problems: list[DialogError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DialogSchemaError(DialogError):
    pass


class DuplicateStepError(DialogError):
    pass


class UnknownStepError(DialogError):
    pass


class UnreachableStepError(DialogError):
    pass


class MissingBranchError(DialogError):
    pass


class EndlessLoopError(DialogError):
    pass


class MissingMessageError(DialogError):
    pass


class PlaceholderMismatchError(DialogError):
    pass


class DeliveryError(AccueilError):
    """A message could not be delivered."""


class RetryLater(DeliveryError):
    """Try again later: after `after` seconds (a rate limit's own wait), or on the sender's
    capped exponential backoff when `after` is None (an outage). `away`: nothing failed, the
    person is not there to receive it (a web chat's closed page); waiting long is no error."""

    def __init__(self, reason: str, after: float | None = None, *, away: bool = False) -> None:
        self.after = after
        self.away = away
        super().__init__(f"{reason}; retrying in {after:g} s" if after is not None else f"{reason}; retrying later")


class RecipientGone(DeliveryError):
    """The chat cannot be reached any more (the user blocked the bot, say)."""


class Refused(DeliveryError):
    """The channel refused this message for good (not a passing failure): it is set aside, kept
    for an operator to replay, and the queue behind it moves on. `reason` names the method and
    the channel's answer, never the message's text."""

    def __init__(self, reason: str) -> None:
        self.reason = reason[:300]
        super().__init__(self.reason)


class TokenRevoked(DeliveryError):
    """The channel no longer accepts the bot's credentials: nothing can be sent or fetched until
    an operator gives it a new token. Everything queued is kept."""


def describe(error: BaseException) -> str:
    """An exception as an operator's log may show it: its type and where Accueil raised it.

    Never its message, which may quote what a person wrote; except a `ConfigError`,
    whose message is ours and says what to change."""
    if isinstance(error, ConfigError):
        return str(error)[:300]
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(_SOURCE_ROOT) and ".venv" not in path.parts:
            return f"{name} at {path.relative_to(_SOURCE_ROOT)}:{frame.lineno}"[:300]
    return name[:300]
