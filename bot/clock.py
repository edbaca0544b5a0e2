"""The clock port: what time it is, as a parameter everything that needs it takes.

Code that needs the time takes a `Clock` (a callable returning an aware UTC
datetime); the running bot passes `utcnow`, tests pass `testkit`'s fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
