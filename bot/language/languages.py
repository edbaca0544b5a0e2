"""The language capability matrix: what the bot can do for a person in each language.

For each language: its catalog (reviewed by a native speaker, draft, or none),
machine translation to and from the staff language (direct, via English, or
none), and the registered interpreters. `accueil languages` prints it; the bot
asks the same questions of the same objects when it serves a victim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.language.i18n import Catalogs
from bot.translation.port import Route

#: The languages the associations asked for, with their own names.
SUPPORTED: Mapping[str, str] = {
    "fr": "Français",
    "en": "English",
    "ar": "العربية",
    "es": "Español",
    "pt": "Português",
    "ro": "Română",
    "bg": "Български",
    "ru": "Русский",
    "uk": "Українська",
    "zh": "中文（简体）",
    "bn": "বাংলা",
    "tl": "Tagalog",
    "fa": "فارسی",
    "ti": "ትግርኛ",
}


@dataclass(frozen=True)
class Capability:
    code: str
    name: str
    catalog: str  # reviewed | draft | none
    to_staff: str  # same | direct | via English | none
    from_staff: str
    interpreters: int


def matrix(
    catalogs: Catalogs,
    route: Callable[[str, str], Route | None],
    staff_language: str,
    model_languages: set[str],
    interpreters: Mapping[str, int] | None = None,
) -> list[Capability]:
    codes = list(SUPPORTED) + sorted(({c.language for c in catalogs} | model_languages) - set(SUPPORTED))
    rows = []
    for code in codes:
        catalog = catalogs.get(code) if code in catalogs else None
        to_staff, from_staff = route(code, staff_language), route(staff_language, code)
        rows.append(
            Capability(
                code=code,
                name=catalog.name if catalog else SUPPORTED.get(code, code),
                catalog=catalog.review if catalog else "none",
                to_staff=to_staff.kind if to_staff else "none",
                from_staff=from_staff.kind if from_staff else "none",
                interpreters=(interpreters or {}).get(code, 0),
            )
        )
    return rows


def render(rows: list[Capability], staff_language: str) -> str:
    to, back = f"to {staff_language}", f"from {staff_language}"
    lines = [f"{'code':<5} {'language':<14} {'catalog':<9} {to:<12} {back:<12} interpreters"]
    for row in rows:
        lines.append(
            f"{row.code:<5} {row.name:<14} {row.catalog:<9} {row.to_staff:<12} {row.from_staff:<12} {row.interpreters}"
        )
    return "\n".join(lines)
