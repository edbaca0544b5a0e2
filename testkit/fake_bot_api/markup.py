"""Telegram's Markdown markups (MarkdownV2 and legacy Markdown) parsed into text and entities, strictly."""

from __future__ import annotations

import re
from typing import Final

from testkit.fake_bot_api.internals import (
    _COMMAND_IN_TEXT_RE,
    _byte_offset,
    _MarkupError,
    _utf16_len,
)
from testkit.fake_bot_api.records import (
    JSONDict,
)

_MDV2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")


_MDV2_SPECIAL_RE: Final = re.compile(r"[_*\[\]()~`>#+\-=|{}.!\\]")


_MDV2_NAMES: Final = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
}


_MD_SPECIAL_RE: Final = re.compile(r"[*_`\[\\]")


class _TextBuilder:
    __slots__ = ("entities", "parts", "pos")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[JSONDict] = []

    def add(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.pos += _utf16_len(text)

    def entity(self, etype: str, start: int, extra: JSONDict | None = None) -> None:
        if self.pos > start:
            ent: JSONDict = {"type": etype, "offset": start, "length": self.pos - start}
            if extra:
                ent.update(extra)
            self.entities.append(ent)

    def result(self) -> tuple[str, list[JSONDict]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def _find_unescaped(src: str, i: int, token: str) -> tuple[int, str]:
    """Index of ``token`` from ``i`` skipping backslash escapes, plus unescaped content."""
    n = len(src)
    parts: list[str] = []
    while i < n:
        if src[i] == "\\" and i + 1 < n:
            parts.append(src[i + 1])
            i += 2
            continue
        if src.startswith(token, i):
            return i, "".join(parts)
        parts.append(src[i])
        i += 1
    return -1, "".join(parts)


_MdStack = list[tuple[str, int, int]]  # marker, utf16 start, source index


def _parse_markdown_v2(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: _MdStack = []
    i, n = 0, len(src)
    while i < n:
        m = _MDV2_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        c = src[i]
        if c == "\\":
            if i + 1 >= n:
                raise _MarkupError("Character '\\' is reserved and must be escaped with the preceding '\\'")
            out.add(src[i + 1])
            i += 2
        elif c == "`":
            i = _mdv2_code(src, i, out)
        elif c in "*_~|":
            i = _mdv2_emphasis(src, i, stack, out)
        elif c == "[":
            stack.append(("[", out.pos, i))
            i += 1
        elif c == "]" and stack and stack[-1][0] == "[":
            i = _mdv2_link_end(src, i, stack, out)
        elif c == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1
        else:
            raise _MarkupError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        marker, _start, src_index = stack[-1]
        raise _MarkupError(
            f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {_byte_offset(src, src_index)}"
        )
    return out.result()


def _mdv2_code(src: str, i: int, out: _TextBuilder) -> int:
    """A code span or a pre block starting at `i`; the index after it."""
    if not src.startswith("```", i):
        end, content = _find_unescaped(src, i + 1, "`")
        if end < 0:
            raise _MarkupError(f"Can't find end of Code entity at byte offset {_byte_offset(src, i)}")
        start = out.pos
        out.add(content)
        out.entity("code", start)
        return end + 1
    end, content = _find_unescaped(src, i + 3, "```")
    if end < 0:
        raise _MarkupError(f"Can't find end of Pre entity at byte offset {_byte_offset(src, i)}")
    extra: JSONDict = {}
    if "\n" in content:
        first, rest = content.split("\n", 1)
        if first and not any(ch.isspace() for ch in first):
            extra["language"] = first
            content = rest
        elif not first:
            content = rest
    start = out.pos
    out.add(content)
    out.entity("pre", start, extra)
    return end + 3


def _mdv2_emphasis(src: str, i: int, stack: _MdStack, out: _TextBuilder) -> int:
    """Open or close bold, italic, underline, strikethrough or spoiler at `i`; the index after the marker."""
    c = src[i]
    if c == "|":
        if not src.startswith("||", i):
            raise _MarkupError("Character '|' is reserved and must be escaped with the preceding '\\'")
        marker = "||"
    elif c == "_" and src.startswith("__", i) and not (stack and stack[-1][0] == "_"):
        marker = "__"
    else:
        marker = c
    if stack and stack[-1][0] == marker:
        _, start, _src_index = stack.pop()
        out.entity(_MDV2_NAMES[marker][0], start)
    else:
        stack.append((marker, out.pos, i))
    return i + len(marker)


def _mdv2_link_end(src: str, i: int, stack: _MdStack, out: _TextBuilder) -> int:
    """The "]" at `i` closes a link text, with its "(url)" if one follows; the index after them."""
    _, start, _src_index = stack.pop()
    i += 1
    if i < len(src) and src[i] == "(":
        end, url = _find_unescaped(src, i + 1, ")")
        if end < 0:
            raise _MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
        out.entity("text_link", start, {"url": url})
        i = end + 1
    return i


def _parse_markdown_legacy(src: str) -> tuple[str, list[JSONDict]]:  # noqa: PLR0912, PLR0915 (one state machine, as Telegram's)
    out = _TextBuilder()
    i, n = 0, len(src)
    types = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        m = _MD_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        c = src[i]
        err = f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
        if c == "\\":
            if i + 1 < n and src[i + 1] in "*_`[":
                out.add(src[i + 1])
                i += 2
            else:
                out.add("\\")
                i += 1
            continue
        if c == "[":
            close = src.find("]", i + 1)
            if close < 0:
                raise _MarkupError(err)
            start = out.pos
            out.add(src[i + 1 : close])
            if close + 1 < n and src[close + 1] == "(":
                end = src.find(")", close + 2)
                if end < 0:
                    raise _MarkupError(err)
                out.entity("text_link", start, {"url": src[close + 2 : end]})
                i = end + 1
            else:
                i = close + 1
            continue
        if c == "`" and src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise _MarkupError(err)
            start = out.pos
            out.add(src[i + 3 : end])
            out.entity("pre", start)
            i = end + 3
            continue
        end = src.find(c, i + 1)
        if end < 0:
            raise _MarkupError(err)
        start = out.pos
        out.add(src[i + 1 : end])
        out.entity(types[c], start)
        i = end + 1
    return out.result()


def _command_entities(text: str) -> list[JSONDict]:
    entities: list[JSONDict] = []
    for m in _COMMAND_IN_TEXT_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": _utf16_len(text[: m.start()]),
                "length": _utf16_len(m.group(0)),
            }
        )
    return entities
