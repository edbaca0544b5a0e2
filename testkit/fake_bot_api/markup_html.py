"""Telegram's HTML markup parsed into text and entities, strictly: the tags, attributes and entities
Telegram accepts, and its error messages for the rest."""

from __future__ import annotations

import re
from typing import Final

from testkit.fake_bot_api.internals import (
    _byte_offset,
    _MarkupError,
)
from testkit.fake_bot_api.markup import _TextBuilder
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


def _skip_space(src: str, k: int) -> int:
    while k < len(src) and src[k].isspace():
        k += 1
    return k


def _parse_html_attrs(src: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    n = len(src)
    attrs: dict[str, str] = {}
    while True:
        j = _skip_space(src, j)
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
        k = _skip_space(src, k)
        value = ""
        if k < n and src[k] == "=":
            value, k = _html_attr_value(src, _skip_space(src, k + 1), begin)
        attrs[name] = _html_unescape(value)
        j = k


def _html_attr_value(src: str, k: int, begin: int) -> tuple[str, int]:
    """The value starting at `k` (quoted or bare), and the index after it."""
    n = len(src)
    if k >= n:
        raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    quote = src[k]
    if quote in "\"'":
        end = src.find(quote, k + 1)
        if end < 0:
            raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        return src[k + 1 : end], end + 1
    e = k
    while e < n and not src[e].isspace() and src[e] != ">":
        e += 1
    return src[k:e], e


_HtmlStack = list[tuple[str, str | None, int, JSONDict]]


def _parse_html(src: str) -> tuple[str, list[JSONDict]]:
    out = _TextBuilder()
    stack: _HtmlStack = []
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
            out.add(_html_unescape(em.group(0)) if em is not None else "&")
            i = em.end() if em is not None else i + 1
        elif i + 1 < n and src[i + 1] == "/":
            i = _html_end_tag(src, i, stack, out)
        else:
            i = _html_start_tag(src, i, stack, out)
    if stack:
        raise _MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_end_tag(src: str, begin: int, stack: _HtmlStack, out: _TextBuilder) -> int:
    """Close the innermost open tag with the end tag at `begin`; the index after it."""
    end = src.find(">", begin + 2)
    if end < 0:
        raise _MarkupError(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
    name = src[begin + 2 : end].strip().lower()
    if not stack:
        raise _MarkupError(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
    open_tag, open_type, start, open_extra = stack.pop()
    if name != open_tag:
        raise _MarkupError(
            f'Unmatched end tag at byte offset {_byte_offset(src, begin)}, expected "</{open_tag}>", found "</{name}>"'
        )
    if open_type is not None:
        out.entity(open_type, start, open_extra)
    return end + 1


def _html_start_tag(src: str, begin: int, stack: _HtmlStack, out: _TextBuilder) -> int:
    """Open the tag that starts at `begin`; the index after it."""
    n = len(src)
    j = begin + 1
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    if j >= n:
        raise _MarkupError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    tag = src[begin + 1 : j].lower()
    if tag not in _HTML_TAGS:
        raise _MarkupError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
    attrs, after = _parse_html_attrs(src, j, tag, begin)
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}')
    in_pre = bool(stack) and stack[-1][0] == "pre"
    etype, extra = _html_entity_of(tag, attrs, in_pre)
    stack.append((tag, etype, out.pos, extra))
    return after


def _html_entity_of(tag: str, attrs: dict[str, str], in_pre: bool) -> tuple[str | None, JSONDict]:
    """The entity type a tag makes (None: no entity) and its extra fields."""
    etype: str | None = _HTML_TAGS[tag]
    extra: JSONDict = {}
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
        etype = "pre" if in_pre else "code"
        if etype == "pre":
            extra["language"] = attrs["class"][len("language-") :]
    return etype, extra
