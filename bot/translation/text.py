"""Preparing text for a translation model, offline, for every script we support.

`split_sentences` cuts text into sentences without any model: Latin and
Cyrillic punctuation, Arabic ؟ ، ۔, Bengali and Devanagari ।, Chinese 。！？,
Ethiopic ። ፧. `protect` replaces what must come out exactly as it went in
(numbers, phone numbers, e-mail addresses, URLs, @handles, dates, words with
underscores) by placeholders ⟦0⟧, ⟦1⟧ ...; `restore` puts them back, and never
loses one: a span the model dropped is appended rather than lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PROTECTED = re.compile(
    r"""
    (?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]}»。，！？؟،]      # URLs
  | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                                 # e-mail addresses
  | (?<![\w@])@\w{2,}                                            # @handles
  | \d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}                              # dates
  | \+?\(?\d[\d\s().-]{5,}\d                                     # phone numbers
  | \w*_\w*                                                      # words with underscores
  | \d+(?:[.,:]\d+)*                                             # other numbers, times
    """,
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(r"⟦(\d+)⟧")

# A sentence ends at . ! ? … (followed by a space), or at a script's own full stop.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[؟۔।॥።፧。！？])\s*")


@dataclass(frozen=True)
class Protected:
    text: str
    spans: tuple[str, ...]


def protect(text: str) -> Protected:
    spans: list[str] = []

    def hold(match: re.Match[str]) -> str:
        value = match.group(0)
        spans.append(value)
        return f"⟦{len(spans) - 1}⟧"

    return Protected(_PROTECTED.sub(hold, text), tuple(spans))


def restore(translated: str, protected: Protected) -> str:
    used: set[int] = set()

    def put(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(protected.spans):
            return ""
        used.add(index)
        return protected.spans[index]

    out = _PLACEHOLDER.sub(put, translated)
    missing = [span for i, span in enumerate(protected.spans) if i not in used]
    if missing:
        out = f"{out} ({', '.join(missing)})" if out.strip() else " ".join(missing)
    return out


def split_sentences(text: str) -> list[tuple[str, str]]:
    """(sentence, separator) pairs; joining them all gives `text` back exactly."""
    pieces: list[tuple[str, str]] = []
    for line_index, line in enumerate(text.split("\n")):
        if line_index:
            if pieces:
                sentence, sep = pieces[-1]
                pieces[-1] = (sentence, sep + "\n")
            else:
                pieces.append(("", "\n"))
        position = 0
        for match in _SENTENCE_END.finditer(line):
            if match.end() == position:
                continue
            pieces.append((line[position : match.start()], match.group(0)))
            position = match.end()
        if position < len(line):
            pieces.append((line[position:], ""))
    return pieces


def chunk(sentence: str, limit: int) -> list[str]:
    """Cut a very long sentence at spaces into pieces of at most `limit` characters."""
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    current = ""
    for word in re.split(r"(\s+)", sentence):
        if current and len(current) + len(word) > limit:
            out.append(current)
            current = word.lstrip() if word.isspace() else word
            continue
        current += word
        while len(current) > limit:  # a single "word" longer than the limit (no spaces: Chinese)
            out.append(current[:limit])
            current = current[limit:]
    if current:
        out.append(current)
    return out
