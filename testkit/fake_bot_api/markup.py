"""Telegram's three markups (HTML, MarkdownV2, legacy Markdown) parsed into text and entities, strictly."""

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

_HTML_SPECIAL_RE: Final = re.compile(r"[<&]")


_HTML_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")


_HTML_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


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


def _html_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _HTML_NAMED[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        try:
            return chr(code)
        except (ValueError, OverflowError):
            return m.group(0)

    return _HTML_ENTITY_RE.sub(repl, text)


def _parse_html_attrs(src: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    n = len(src)
    attrs: dict[str, str] = {}
    while True:
        while j < n and src[j].isspace():
            j += 1
        if j >= n:
            raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        if src[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        name = src[j:k].lower()
        if not name:
            raise _MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        while k < n and src[k].isspace():
            k += 1
        value = ""
        if k < n and src[k] == "=":
            k += 1
            while k < n and src[k].isspace():
                k += 1
            if k >= n:
                raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
            quote = src[k]
            if quote in "\"'":
                end = src.find(quote, k + 1)
                if end < 0:
                    raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
                value = src[k + 1 : end]
                k = end + 1
            else:
                e = k
                while e < n and not src[e].isspace() and src[e] != ">":
                    e += 1
                value = src[k:e]
                k = e
        attrs[name] = _html_unescape(value)
        j = k


def _parse_html(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: list[tuple[str, str | None, int, JSONDict]] = []
    i, n = 0, len(src)
    while i < n:
        m = _HTML_SPECIAL_RE.search(src, i)
        if m is None:
            out.add(src[i:])
            break
        out.add(src[i : m.start()])
        i = m.start()
        if src[i] == "&":
            em = _HTML_ENTITY_RE.match(src, i)
            if em is not None:
                out.add(_html_unescape(em.group(0)))
                i = em.end()
            else:
                out.add("&")
                i += 1
            continue
        begin = i
        if i + 1 < n and src[i + 1] == "/":
            end = src.find(">", i + 2)
            if end < 0:
                raise _MarkupError(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise _MarkupError(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
            open_tag, open_type, start, open_extra = stack.pop()
            if name != open_tag:
                raise _MarkupError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                    f'expected "</{open_tag}>", found "</{name}>"'
                )
            if open_type is not None:
                out.entity(open_type, start, open_extra)
            i = end + 1
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        tag = src[i + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise _MarkupError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        attrs, i = _parse_html_attrs(src, j, tag, begin)
        etype: str | None = _HTML_TAGS[tag]
        extra: JSONDict = {}
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}')
        if tag == "a":
            href = attrs.get("href", "")
            if href:
                extra["url"] = href
            else:
                etype = None
        elif tag == "blockquote" and "expandable" in attrs:
            etype = "expandable_blockquote"
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif tag == "code" and attrs.get("class", "").startswith("language-"):
            etype = "pre" if stack and stack[-1][0] == "pre" else "code"
            if etype == "pre":
                extra["language"] = attrs["class"][len("language-") :]
        stack.append((tag, etype, out.pos, extra))
    if stack:
        raise _MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


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


def _parse_markdown_v2(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: list[tuple[str, int, int]] = []  # marker, utf16 start, source index
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
            if i + 1 < n:
                out.add(src[i + 1])
                i += 2
            else:
                raise _MarkupError("Character '\\' is reserved and must be escaped with the preceding '\\'")
            continue
        if c == "`":
            if src.startswith("```", i):
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
                i = end + 3
            else:
                end, content = _find_unescaped(src, i + 1, "`")
                if end < 0:
                    raise _MarkupError(f"Can't find end of Code entity at byte offset {_byte_offset(src, i)}")
                start = out.pos
                out.add(content)
                out.entity("code", start)
                i = end + 1
            continue
        if c in "*_~|":
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
            i += len(marker)
            continue
        if c == "[":
            stack.append(("[", out.pos, i))
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "[":
            _, start, _src_index = stack.pop()
            i += 1
            if i < n and src[i] == "(":
                end, url = _find_unescaped(src, i + 1, ")")
                if end < 0:
                    raise _MarkupError(f"Can't find end of a URL at byte offset {_byte_offset(src, i)}")
                out.entity("text_link", start, {"url": url})
                i = end + 1
            continue
        if c == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1
            continue
        raise _MarkupError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    if stack:
        marker, _start, src_index = stack[-1]
        raise _MarkupError(
            f"Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {_byte_offset(src, src_index)}"
        )
    return out.result()


def _parse_markdown_legacy(src: str) -> tuple[str, list[JSONDict]]:
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

