"""What the server key seals, each under a context named here once.

A context binds a sealed value to what it belongs to, so a value copied from one
row to another (one case's chat address into another case, a queued reply into
the working state) does not open. Every caller names a context through this
module; none spells one by hand.
"""

from __future__ import annotations

from enum import StrEnum


class Sealed(StrEnum):
    """The kinds of values sealed under the server key."""

    CHAT = "chat"  # where a case's replies go (the channel's chat address)
    STATE = "state"  # the working state of a running intake
    SUMMARY = "summary"  # the intake summary, until the claiming caseworker has it
    OUTBOX = "outbox"  # a reply waiting to be sent
    CHAIN = "chain"  # the transcript's chain key
    STAFF_CHAT = "staff-chat"  # a staff member's private chat address
    PARKED = "parked"  # an update no handler could apply, kept for replay
    WEB_RESUME = "web-resume"  # a web chat user id, reached by a resume code

    def of(self, owner: object) -> str:
        """The context for the value of this kind that belongs to `owner` (a case id, a staff id, a ref)."""
        return f"{self.value}:{owner}"
