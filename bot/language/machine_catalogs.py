"""Prompts for a language with no catalog: the English catalog, machine-translated on first use.

When a person seems to write in a language that has no catalog but an offline
translation path (from English, and to the staff language), it is offered on
the language keyboard; once chosen, every message of the English catalog is
translated into it (once per process, then kept), and the person is told once,
in that language, that the text is machine-translated. Placeholders such as
``{police}`` travel through the model as underscored words, which the
translator keeps verbatim, and come back as placeholders.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from babel import Locale, UnknownLocaleError

from bot.language.i18n import REFERENCE, Catalog, Catalogs
from bot.translation.port import TranslationError, Translator, find_route

log = logging.getLogger("accueil.i18n")

MACHINE = "machine"  # the review status of a machine-translated catalog
NOTICE = "mt.notice"  # in the English catalog only: said once, before the first prompt
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_CARRIED = re.compile(r"PH_([a-z_]+?)_PH")


def autonym(code: str) -> str:
    """A language's name in itself (CLDR, offline), or its code."""
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


class MachineCatalogs:
    def __init__(self, catalogs: Catalogs, translator: Callable[[], Translator | None], staff_language: str) -> None:
        self.catalogs = catalogs
        self.translator = translator
        self.staff_language = staff_language
        self._locks: dict[str, asyncio.Lock] = {}
        self._failed: set[str] = set()
        self._pairs: set[tuple[str, str]] | None = None
        self._offered: dict[str, str] = {}

    def offered(self) -> dict[str, str]:
        """Languages without a catalog that can be spoken through translation, with their own names."""
        translator = self.translator()
        if translator is None:
            return {}
        found: Any = getattr(translator, "pairs", set())
        pairs: set[tuple[str, str]] = found() if callable(found) else found
        if pairs != self._pairs:  # asked at every update: worked out again only when the models change
            self._pairs = set(pairs)
            codes = {code for pair in pairs for code in pair} - {c.language for c in self.catalogs}
            self._offered = {
                code: autonym(code)
                for code in sorted(codes)
                if find_route(pairs, REFERENCE, code) is not None
                and find_route(pairs, code, self.staff_language) is not None
            }
        return {code: name for code, name in self._offered.items() if code not in self._failed}

    async def ensure(self, language: str) -> bool:
        """Make the machine catalog of `language` if it is offered and not made yet; True when usable."""
        if language in self.catalogs or self.catalogs.has_machine(language):
            return True
        if language not in self.offered():
            return False
        lock = self._locks.setdefault(language, asyncio.Lock())
        async with lock:
            if self.catalogs.has_machine(language):
                return True
            translator = self.translator()
            assert translator is not None
            english = self.catalogs.get(REFERENCE).messages
            try:
                translated = await asyncio.gather(
                    *(self._message(translator, text, language) for text in english.values())
                )
            except TranslationError:
                log.warning("the prompts could not be machine-translated", extra={"language": language})
                self._failed.add(language)
                return False
            messages = dict(zip(english, translated, strict=True))
            messages["language.name"] = autonym(language)
            self.catalogs.add_machine(
                Catalog(language=language, path=f"machine translation of the {REFERENCE} catalog", review=MACHINE,
                        messages=messages)
            )
            log.info("prompts machine-translated", extra={"language": language, "messages": len(messages)})
            return True

    async def _message(self, translator: Translator, text: str, language: str) -> str:
        lines = text.split("\n")
        carried = [_PLACEHOLDER.sub(lambda m: f"PH_{m.group(1)}_PH", line) for line in lines]
        out = await asyncio.gather(
            *(translator.translate(line, REFERENCE, language) for line in carried if line.strip())
        )
        done = iter(result.text for result in out)
        joined = "\n".join(next(done) if line.strip() else line for line in carried)
        return _CARRIED.sub(lambda m: "{" + m.group(1) + "}", joined)
