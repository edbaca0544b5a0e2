"""The languages a person can pick, as the engine offers them on its keyboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Languages:
    """The languages the victim can pick, in keyboard order: (code, own name)."""

    choices: Sequence[tuple[str, str]]
    #: Languages offered only when the person seems to write in them (machine-translated prompts).
    also: Mapping[str, str] = field(default_factory=dict)

    def name(self, code: str) -> str:
        return dict(self.choices).get(code) or self.also.get(code, code)

    def accepts(self, code: str) -> bool:
        return code in dict(self.choices) or code in self.also

    def preferring(self, codes: Sequence[str]) -> Languages:
        """The same languages, `codes` first (in their order), with those of `also` among them."""
        known = {**self.also, **dict(self.choices)}
        first = [(code, known[code]) for code in codes if code in known]
        return Languages((*first, *((c, n) for c, n in self.choices if c not in codes)), self.also)
