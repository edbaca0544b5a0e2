"""Where one conversation stands (`State`), and its dict codec for storage.

The engine never keeps a state itself: `advance` takes one and returns the
next; the caller persists it with `to_dict` and reads it back with `from_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

#: A saved answer: one value, several (a multiple choice), or None when skipped.
Answer: TypeAlias = str | tuple[str, ...] | None
Status: TypeAlias = Literal["intake", "handoff", "ended"]


@dataclass(frozen=True)
class State:
    flow: str
    step: str
    turn: int = 0
    language: str | None = None
    answers: Mapping[str, Answer] = field(default_factory=dict)
    marks: frozenset[str] = frozenset()
    selection: tuple[str, ...] = ()
    status: Status = "intake"
    started_at: str = ""
    resume: str | None = None  # the step to return to after /language

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "step": self.step,
            "turn": self.turn,
            "language": self.language,
            "answers": {k: list(v) if isinstance(v, tuple) else v for k, v in self.answers.items()},
            "marks": sorted(self.marks),
            "selection": list(self.selection),
            "status": self.status,
            "started_at": self.started_at,
            "resume": self.resume,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        answers: dict[str, Answer] = {}
        for key, value in dict(data.get("answers", {})).items():
            answers[str(key)] = tuple(str(v) for v in value) if isinstance(value, list) else value
        status = data.get("status", "intake")
        if status not in ("intake", "handoff", "ended"):
            raise ValueError(f"unknown status {status!r}")
        return cls(
            flow=str(data["flow"]),
            step=str(data["step"]),
            turn=int(data.get("turn", 0)),
            language=data.get("language"),
            answers=answers,
            marks=frozenset(str(m) for m in data.get("marks", ())),
            selection=tuple(str(v) for v in data.get("selection", ())),
            status=status,
            started_at=str(data.get("started_at", "")),
            resume=data.get("resume"),
        )
