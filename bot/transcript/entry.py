"""One line of a transcript, as it is sealed: who spoke, when, what, its translation."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One line of a transcript."""

    who: str  # victim | bot | caseworker | interpreter | system
    at: str
    kind: str  # message | answer | command | media | event | answers | summary
    text: str | None = None
    language: str | None = None
    translation: str | None = None
    machine_translated: bool = False
    step: str | None = None
    answer: Any = None
    by: str | None = None  # the staff member's name
    #: A file the person sent: its name, type and content (base64).
    name: str | None = None
    mime: str | None = None
    data: str | None = None
    #: The words written under a photo, video or document (its translation in `translation`).
    caption: str | None = None

    def to_bytes(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v not in (None, False)}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        return cls(**json.loads(data))
