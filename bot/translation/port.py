"""The translation port: what the rest of Accueil asks of a translator.

    TranslationError
    └── NoTranslationPath      no installed model (direct or via English) for this pair

Implementations: `ArgosTranslator` (CTranslate2 on installed Argos packages)
and, for tests, `testkit.fakes.FakeTranslator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.errors import AccueilError

PIVOT = "en"


class TranslationError(AccueilError):
    """A text could not be translated (a model failed to load or to run)."""


class NoTranslationPath(TranslationError):
    """No installed model translates between these languages, even via English."""


@dataclass(frozen=True)
class Route:
    """How a text gets from one language to another: the pairs it goes through."""

    hops: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> Literal["same", "direct", "via English"]:
        if not self.hops:
            return "same"
        return "direct" if len(self.hops) == 1 else "via English"


@dataclass(frozen=True)
class Translation:
    text: str
    source: str
    target: str
    route: Route

    @property
    def machine(self) -> bool:
        return bool(self.route.hops)


class Translator(Protocol):
    def route(self, source: str, target: str) -> Route | None:
        """The way from `source` to `target`, or None when there is none."""
        ...

    async def translate(self, text: str, source: str, target: str) -> Translation:
        """Translate `text`; raises `NoTranslationPath` or `TranslationError`."""
        ...


def find_route(pairs: set[tuple[str, str]], source: str, target: str) -> Route | None:
    """Direct when a model exists, else through English, else None."""
    if source == target:
        return Route(())
    if (source, target) in pairs:
        return Route(((source, target),))
    if (source, PIVOT) in pairs and (PIVOT, target) in pairs:
        return Route(((source, PIVOT), (PIVOT, target)))
    return None
