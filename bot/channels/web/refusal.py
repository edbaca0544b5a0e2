"""A request the web chat answers with a clear sentence and an HTTP status (never a traceback)."""

from __future__ import annotations


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
