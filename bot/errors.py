"""Every error Accueil raises on purpose, under one root.

    AccueilError
    ├── ConfigError            a setting is missing or malformed (names it)
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

Foreign exceptions are mapped at the boundary with ``raise ... from exc``.
Operators see ``str(error)``: one line that says what to do. Victims never see
an exception; the channels answer them with a kind message instead.
"""

from __future__ import annotations


class AccueilError(Exception):
    """Root of every error Accueil raises on purpose."""


class ConfigError(AccueilError):
    """A setting is missing or malformed."""


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


class StorageError(AccueilError):
    """The database cannot be reached, or its schema is not the expected one."""


class DeliveryError(AccueilError):
    """A message could not be delivered."""


class RetryLater(DeliveryError):
    """Try again later: after `after` seconds (a rate limit's own wait), or on the sender's
    capped exponential backoff when `after` is None (an outage)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        self.after = after
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


class SealError(AccueilError):
    """Sealed data could not be opened. Deliberately says nothing more."""


class TranscriptUnreadable(AccueilError):
    """A transcript cannot be read. The one error for every decryption failure."""
