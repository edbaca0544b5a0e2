"""The console's pages: HTML from `bot/console/static/`, its texts from `locales/console/*.po`.

A page is a static HTML file whose `{{ key }}` are filled from the catalog of the reader's language
(French or English, from the browser's Accept-Language; French by default), HTML-escaped. Scripts
are never inline: the page names one module by URL with its Subresource Integrity hash, taken from
the build's manifest (`static/dist/manifest.json`, written by `make web`). Without a build (no
Node.js on the machine) the module is served from its source under `web/src/` with a hash computed
here: signing in and the queue work, and the page says that transcripts cannot be opened.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

log = logging.getLogger("accueil.console")

STATIC = Path(__file__).with_name("static")
DIST = STATIC / "dist"
LANGUAGES = ("fr", "en")
SCRIPT = "console/main.js"
_SLOT = re.compile(r"\{\{ ([@a-z_.]+) \}\}")


def load_texts(locales_dir: Path) -> dict[str, dict[str, str]]:
    """The console's catalogs, by language: {"fr": {key: text}, "en": {...}}."""
    texts: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        path = locales_dir / "console" / f"{language}.po"
        with path.open("rb") as file:
            catalog = read_po(file, locale=language)
        texts[language] = {str(m.id): str(m.string) for m in catalog if m.id and m.string}
    missing = set(texts["en"]) ^ set(texts["fr"])
    if missing:
        raise ValueError(f"the console's catalogs differ: {', '.join(sorted(missing))}")
    return texts


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@dataclass(frozen=True)
class Script:
    url: str
    integrity: str
    built: bool


def find_script(source_dir: Path, name: str = SCRIPT) -> Script:
    """The page's module: the build's, or its source when there is no build."""
    manifest = DIST / "manifest.json"
    if manifest.exists():
        found = _from_manifest(json.loads(manifest.read_text()), name)
        if found is not None:
            file, sri = found
            if (DIST / file).exists():
                return Script(f"/console/static/dist/{file}", sri, True)
    source = source_dir / name
    log.warning("the console's scripts are not built (make web): serving their sources; no decryption")
    return Script(f"/console/static/src/{name}", integrity(source.read_bytes()), False)


def _from_manifest(manifest: Any, name: str) -> tuple[str, str] | None:
    """Read the manifest whichever of its plain shapes it has: {name: sri}, {name: {file, integrity}},
    or either of those under "files"."""
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict):
        manifest = manifest["files"]
    if not isinstance(manifest, dict):
        return None
    for key in (name, name.replace("/main.js", ".js"), f"{name.split('/', maxsplit=1)[0]}.js"):
        value = manifest.get(key)
        if isinstance(value, str) and value.startswith("sha384-"):
            return key, value
        if isinstance(value, dict):
            sri = value.get("integrity") or value.get("sri")
            file = value.get("file") or value.get("path") or key
            if isinstance(sri, str) and isinstance(file, str):
                return file.removeprefix("dist/"), sri
    return None


class Pages:
    def __init__(self, locales_dir: Path, source_dir: Path) -> None:
        self.texts = load_texts(locales_dir)
        self.source_dir = source_dir
        self.templates = {p.stem: p.read_text() for p in STATIC.glob("*.html")}
        self._script: Script | None = None

    @property
    def script(self) -> Script:
        if self._script is None:
            self._script = find_script(self.source_dir)
        return self._script

    def language(self, accept: str) -> str:
        """French unless the browser prefers English (the staff's language is French)."""
        best = ("fr", 0.0)
        for part in accept.split(","):
            tag, _, q = part.strip().partition(";q=")
            code = tag.strip().lower()[:2]
            try:
                weight = float(q) if q else 1.0
            except ValueError:
                continue
            if code in LANGUAGES and weight > best[1]:
                best = (code, weight)
        return best[0]

    def render(self, name: str, language: str, **values: str) -> str:
        texts = self.texts[language]
        script = self.script if "@script_src" in self.templates[name] else None
        specials = {
            "@lang": language,
            "@texts": json.dumps({**texts, "@built": str(script.built if script else False)}).replace("<", "\\u003c"),
            "@script_src": script.url if script else "",
            "@script_integrity": script.integrity if script else "",
            **{f"@{k}": v for k, v in values.items()},
        }

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "@texts":
                return specials[key]  # JSON in a data block: already safe ("<" escaped)
            return html.escape(specials[key] if key.startswith("@") else texts[key])

        return _SLOT.sub(fill, self.templates[name])
