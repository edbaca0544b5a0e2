"""Guessing the language of a message, offline.

lingua ships its models inside the package (low-accuracy mode: about 15 MB for
our languages, loaded on first use). Scripts it does not know are recognised by
their letters: Ethiopic text is Tigrinya or Amharic. The guess is only a
proposal: the victim always chooses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

#: Below this share of the best guess, a second language is proposed too.
_SURE = 0.9
_MIN = 0.1


def _ethiopic(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    ethiopic = sum(1 for c in letters if "\u1200" <= c <= "\u139f" or "\u2d80" <= c <= "\u2ddf")
    return bool(letters) and ethiopic * 2 > len(letters)


class LanguageGuesser:
    def __init__(self, languages: Iterable[str]) -> None:
        self.languages = set(languages)
        self._detector: LanguageDetector | None = None
        self._lock = threading.Lock()

    def add(self, languages: Iterable[str]) -> None:
        """Recognise these languages too (those spoken through machine translation)."""
        new = set(languages) - self.languages
        if new:
            with self._lock:
                self.languages |= new
                self._detector = None

    def _load(self) -> LanguageDetector | None:
        with self._lock:
            if self._detector is None:
                codes = [getattr(IsoCode639_1, code.upper(), None) for code in sorted(self.languages)]
                known = [c for c in codes if c is not None]
                if len(known) < 2:
                    return None
                self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*known).with_low_accuracy_mode().build()
            return self._detector

    def guess(self, text: str) -> tuple[str, ...]:
        """The languages `text` seems written in, likeliest first (at most two)."""
        if _ethiopic(text):
            return tuple(code for code in ("ti", "am") if code in self.languages)
        detector = self._load()
        if detector is None or not any(c.isalpha() for c in text):
            return ()
        values = detector.compute_language_confidence_values(text)
        found = [(value.language.iso_code_639_1.name.lower(), value.value) for value in values if value.value >= _MIN]
        if not found:
            return ()
        if found[0][1] >= _SURE:
            return (found[0][0],)
        return tuple(code for code, _ in found[:2])
