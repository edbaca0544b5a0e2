"""The problems the loader finds, collected so that one run reports them all."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from bot.errors import DialogError


@dataclass
class Problems:
    """Every problem found in one file so far; each names the file, the flow, the step and the line."""

    path: str
    flow: str | None = None
    found: list[DialogError] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.found)

    def fail(
        self,
        cls: type[DialogError],
        message: str,
        *,
        step: str | None = None,
        node: yaml.Node | None = None,
        line: int | None = None,
    ) -> None:
        """Record one problem; `node` gives its line when there is one."""
        if node is not None:
            line = node.start_mark.line + 1
        self.found.append(cls(message, path=self.path, flow=self.flow, step=step, line=line))
