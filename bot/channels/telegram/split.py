"""Fitting a text into Telegram's limits: 4,096 characters a message, 1,024 a caption.

A longer text is sent in several parts, never truncated. The cut falls at the most
sensible place near the end of each part: between paragraphs, else between lines,
else after a sentence, else between words, else anywhere between two characters.
Texts are HTML, so a cut never falls inside a tag or an entity (`&amp;`), and a tag
still open at a cut is closed at the end of the part and opened again at the start
of the next. Telegram counts what the person sees, in UTF-16 code units: tags count
nothing, an entity one, a character outside the Basic Multilingual Plane two (a
Python string never holds half of one, so no cut splits a surrogate pair).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
_SENTENCE_END = frozenset(".!?…。！？")

# How good a cut is, after a given token: the higher the better.
_ANYWHERE, _WORD, _SENTENCE, _LINE, _PARAGRAPH = range(5)


def _width(token: str) -> int:
    if token.startswith("<") and token.endswith(">") and len(token) > 1:
        return 0
    if token.startswith("&") and token.endswith(";") and len(token) > 1:
        return 1
    return len(token.encode("utf-16-le")) // 2


@dataclass
class _Part:
    """The part being filled: its tokens, what it shows, and where it could be cut."""

    opening: list[str]  # tags opened again at its start
    tokens: list[str] = field(default_factory=list)
    width: int = 0
    cuts: list[tuple[int, int, int]] = field(default_factory=list)  # (quality, tokens before, width before)


def _quality(previous: str, piece: str) -> int | None:
    """How good a cut right after `piece` is (`previous` came before it)."""
    if piece == "\n":
        return _PARAGRAPH if previous == "\n" else _LINE
    if piece.isspace():
        return _SENTENCE if previous in _SENTENCE_END else _WORD
    return None


def _best_cut(part: _Part, limit: int) -> int:
    """How many of the part's tokens to keep: the best cut in its second half, else the best anywhere."""
    for cuts in ([c for c in part.cuts if c[2] >= limit // 2], part.cuts):
        if cuts:
            quality = max(c[0] for c in cuts)
            return max(c[1] for c in cuts if c[0] == quality)
    return len(part.tokens)


def _open_tags(tokens: list[str], start: list[str]) -> list[str]:
    """The tags still open after `tokens`, given those open before them."""
    stack = list(start)
    for token in tokens:
        if not (token.startswith("<") and token.endswith(">")) or len(token) < 3:
            continue
        match = _TAG_NAME.match(token)
        if match is None:
            continue
        name = match.group(1).lower()
        if token.startswith("</"):
            for index in range(len(stack) - 1, -1, -1):
                if _name(stack[index]) == name:
                    del stack[index:]
                    break
        elif not token.endswith("/>"):
            stack.append(token)
    return stack


def _name(tag: str) -> str:
    match = _TAG_NAME.match(tag)
    return match.group(1).lower() if match else ""


def _close(tags: list[str]) -> str:
    return "".join(f"</{_name(tag)}>" for tag in reversed(tags))


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in parts that each show at most `limit` characters, cut at sensible places."""
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return [text]  # tags and entities only make the shown text shorter than this
    if sum(_width(token) for token in _TOKEN.findall(text)) <= limit:
        return [text]
    parts: list[str] = []
    part = _Part(opening=[])
    for token in _TOKEN.findall(text):
        width = _width(token)
        while part.width + width > limit and part.tokens:
            part = _cut(part, limit, parts)
        _add(part, token)
    if any(_width(token) and not token.isspace() for token in part.tokens):
        parts.append("".join(part.opening) + "".join(part.tokens))
    return parts


def _cut(part: _Part, limit: int, parts: list[str]) -> _Part:
    """Close the part at its best cut (appended to `parts`); return the next, holding the rest."""
    keep = _best_cut(part, limit)
    kept, rest = part.tokens[:keep], part.tokens[keep:]
    still_open = _open_tags(kept, part.opening)
    parts.append("".join(part.opening) + "".join(kept).rstrip() + _close(still_open))
    following = _Part(opening=still_open)
    for token in _lstrip(rest):
        _add(following, token)
    return following


def _add(part: _Part, token: str) -> None:
    previous = part.tokens[-1] if part.tokens else ""
    part.tokens.append(token)
    part.width += _width(token)
    quality = _quality(previous, token)
    if quality is not None:
        part.cuts.append((quality, len(part.tokens), part.width))


def _lstrip(tokens: list[str]) -> list[str]:
    """The tokens without the blank ones a part would start with."""
    start = 0
    while start < len(tokens) and tokens[start].isspace():
        start += 1
    return tokens[start:]
