"""Message catalogs: gettext `.po` files whose msgids are message keys.

Each catalog states in its header whether a native speaker reviewed it
(``X-Accueil-Review: reviewed`` or ``draft``) and names its language in its own
script (the ``language.name`` message), which the language keyboard shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from bot.engine.effects import Msg, Verbatim
from bot.engine.languages import Languages
from bot.engine.model import Dialog
from bot.errors import DialogError, MissingMessageError, PlaceholderMismatchError

DOMAIN = "accueil"
#: The catalog every other is compared with for placeholders.
REFERENCE = "en"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_REVIEW = re.compile(r'"X-Accueil-Review:\s*(\w+)\\n"')

#: Values every message may use. Numbers are filled in, never translated, so
#: they stay intact in every script and direction.
STANDARD_PARAMS: Mapping[str, str] = {
    "police": "17",
    "emergency": "112",
    "sms": "114",
    "helpline": "116 006",
    "helpline_abroad": "+33 1 80 52 33 76",
}

#: Keys the bot uses outside the dialogs (commands menu, errors, shell).
BOT_KEYS = frozenset(
    {
        "language.name",
        "common.error_kept",
        "common.flood",
        "common.too_many_conversations",
        "common.unsupported_media",
        "common.shell_intro",
        "commands.start",
        "commands.language",
        "commands.help",
        "commands.human",
        "commands.restart",
        "commands.exit",
        "commands.discreet",
        "common.discreet_prefix",
        "bot.description",
        "bot.short_description",
        "handoff.open",
        "handoff.closed_now",
        "handoff.claimed",
        "handoff.case_closed",
        "handoff.machine_translated",
        "handoff.media_not_relayed",
    }
)
#: Values the bot fills into one message only (beyond STANDARD_PARAMS).
MESSAGE_PARAMS: Mapping[str, frozenset[str]] = {"handoff.closed_now": frozenset({"when"})}
COMMANDS = ("start", "language", "help", "human", "restart", "discreet", "exit")
#: Languages written right to left: numbers filled into their messages are
#: isolated left to right (U+2066 ... U+2069), so "+33 1 80 52 33 76" reads intact.
RTL = frozenset({"ar", "fa", "he", "ps", "ur"})
_LRI, _PDI = "\u2066", "\u2069"


@dataclass(frozen=True)
class Catalog:
    language: str
    path: str
    review: str  # reviewed | draft
    messages: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.messages.get("language.name", self.language)

    def placeholders(self, key: str) -> set[str]:
        return set(_PLACEHOLDER.findall(self.messages.get(key, "")))


class Catalogs:
    """Every catalog found under `locales/`, with a fallback language."""

    def __init__(self, catalogs: Mapping[str, Catalog], fallback: str) -> None:
        self._catalogs = dict(catalogs)
        #: Machine translations of the English catalog, made on first use (`bot.language.machine_catalogs`):
        #: used to speak to a person, never listed, checked or offered on the keyboard.
        self._machine: dict[str, Catalog] = {}
        self.fallback = fallback if fallback in self._catalogs else next(iter(sorted(self._catalogs)), fallback)

    def __contains__(self, language: object) -> bool:
        return language in self._catalogs

    def add_machine(self, catalog: Catalog) -> None:
        self._machine[catalog.language] = catalog

    def has_machine(self, language: str | None) -> bool:
        return language in self._machine

    def __iter__(self) -> Iterator[Catalog]:
        return iter(self._catalogs[k] for k in sorted(self._catalogs))

    def get(self, language: str | None) -> Catalog:
        found = self._catalogs.get(language or "") or self._machine.get(language or "")
        return found or self._catalogs[self.fallback]

    def languages(self) -> Languages:
        """The language keyboard: the fallback first, then English, then by code."""
        order = sorted(self._catalogs, key=lambda code: (code != self.fallback, code != REFERENCE, code))
        return Languages(tuple((code, self._catalogs[code].name) for code in order))

    def render(self, language: str | None, message: Msg | Verbatim) -> str:
        if isinstance(message, Verbatim):
            return message.text
        text = self.get(language).messages.get(message.key)
        if text is None:
            text = self.get(self.fallback).messages.get(message.key, message.key)
        params = {**STANDARD_PARAMS, **message.params}
        if self.get(language).language in RTL:
            params = {name: f"{_LRI}{value}{_PDI}" for name, value in params.items()}
        return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), text)


def load_catalog(path: Path, language: str) -> Catalog:
    raw = path.read_bytes()
    try:
        po = read_po(raw.splitlines(keepends=True), locale=None, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as exc:
        raise MissingMessageError(f"cannot read the catalog: {exc}", path=str(path)) from exc
    review = _REVIEW.search(raw.decode("utf-8", "replace"))
    messages = {str(m.id): str(m.string) for m in po if m.id and isinstance(m.id, str) and m.string}
    return Catalog(language=language, path=str(path), review=review.group(1) if review else "draft", messages=messages)


def load_catalogs(locales_dir: Path, fallback: str) -> Catalogs:
    found: dict[str, Catalog] = {}
    for path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = path.parent.parent.name
        found[language] = load_catalog(path, language)
    if not found:
        raise MissingMessageError("no catalog found (expected <lang>/LC_MESSAGES/accueil.po)", path=str(locales_dir))
    return Catalogs(found, fallback)


def check_catalogs(dialogs: Iterable[Dialog], catalogs: Catalogs, extra_keys: Iterable[str]) -> list[DialogError]:
    """Every key the dialogs and the bot use, present in every catalog, with the same placeholders."""
    problems: list[DialogError] = []
    needed: dict[str, tuple[str, str | None, str | None]] = {k: ("bot", None, None) for k in extra_keys}
    for dialog in dialogs:
        for dialog_step in dialog.steps.values():
            for key in dialog_step.message_keys():
                needed.setdefault(key, (dialog.path, dialog.flow, dialog_step.id))
    reference = catalogs.get(REFERENCE) if REFERENCE in catalogs else catalogs.get(catalogs.fallback)
    for catalog in catalogs:
        for key, (where, flow, step) in sorted(needed.items()):
            if key not in catalog.messages:
                problems.append(
                    MissingMessageError(
                        f"message {key!r} is missing from {catalog.path}",
                        path=where,
                        flow=flow,
                        step=step,
                    )
                )
                continue
            expected = reference.placeholders(key)
            got = catalog.placeholders(key)
            if got != expected:
                problems.append(
                    PlaceholderMismatchError(
                        f"message {key!r} in {catalog.path} uses {_braces(got)} "
                        f"but {reference.path} uses {_braces(expected)}",
                        path=where,
                        flow=flow,
                        step=step,
                    )
                )
            elif unknown := got - set(STANDARD_PARAMS) - MESSAGE_PARAMS.get(key, frozenset()):
                problems.append(
                    PlaceholderMismatchError(
                        f"message {key!r} in {catalog.path} uses {_braces(unknown)}, which the bot does not fill in "
                        f"(known: {_braces(set(STANDARD_PARAMS))})",
                        path=where,
                        flow=flow,
                        step=step,
                    )
                )
    return problems


def _braces(names: set[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names)) or "no placeholder"
