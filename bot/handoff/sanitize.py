"""Showing a victim's words to staff without letting them disguise themselves.

Bidirectional overrides and isolates, zero-width characters and control
characters are shown as visible ``[U+XXXX]`` marks instead of acting, and the
whole text is isolated (FSI ... PDI) so right-to-left words cannot reorder the
French around them. HTML is escaped later, by the sender, for every message.
"""

from __future__ import annotations

import unicodedata

#: Characters that change how text around them is displayed, or hide.
_INVISIBLE = frozenset(
    [
        *(0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF),
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
        *range(0x206A, 0x2070),  # deprecated format characters
    ]
)
_FSI, _PDI = "\u2068", "\u2069"
_KEPT = frozenset("\n\t")


def neutralise(text: str) -> str:
    """`text` with every invisible, direction-changing or control character made visible."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in _KEPT:
            out.append(char)
        elif code in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cs"):
            out.append(f"[U+{code:04X}]")
        else:
            out.append(char)
    return "".join(out)


def for_staff(text: str) -> str:
    """A victim's words as shown to staff: neutralised, and isolated from the text around them."""
    return f"{_FSI}{neutralise(text)}{_PDI}"
