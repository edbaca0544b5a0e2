"""Offline sentence splitting and protected spans, for every script the bot supports."""

from __future__ import annotations

import re

import pytest

from bot.translation.port import Route, find_route
from bot.translation.text import chunk, protect, restore, split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Bonjour. Ça va? Oui! Très bien…  Merci", ["Bonjour.", "Ça va?", "Oui!", "Très bien…", "Merci"]),
        ("Привет. Как дела? Хорошо!", ["Привет.", "Как дела?", "Хорошо!"]),
        ("مرحبا؟ كيف حالك۔ جيد", ["مرحبا؟", "كيف حالك۔", "جيد"]),
        ("سلام؟ خوبم۔", ["سلام؟", "خوبم۔"]),
        ("আমি ভালো। তুমি কেমন?", ["আমি ভালো।", "তুমি কেমন?"]),
        ("मैं ठीक हूँ। धन्यवाद", ["मैं ठीक हूँ।", "धन्यवाद"]),
        ("你好。我很好！你呢？好", ["你好。", "我很好！", "你呢？", "好"]),
        ("ሰላም። ከመይ ኣለኻ፧ ጽቡቕ", ["ሰላም።", "ከመይ ኣለኻ፧", "ጽቡቕ"]),
        ("one\ntwo. three\n\nfour", ["one", "two.", "three", "four"]),
    ],
)
def test_sentences_are_split_offline_and_nothing_is_lost(text: str, sentences: list[str]) -> None:
    pieces = split_sentences(text)
    assert [s for s, _ in pieces if s] == sentences
    assert "".join(s + sep for s, sep in pieces) == text


def test_an_arabic_comma_does_not_end_a_sentence() -> None:
    assert [s for s, _ in split_sentences("نعم، شكرا")] == ["نعم، شكرا"]


def test_protected_spans_come_back_verbatim() -> None:
    text = (
        "Call +33 6 12 34 56 78 or write to marie_dupont@example.org. On 12/03/2024 at 18:30 "
        "@karim_b sent https://example.org/a?b=1 and 3 photos; file id_card_2.pdf"
    )
    protected = protect(text)
    assert protected.spans == (
        "+33 6 12 34 56 78",
        "marie_dupont@example.org",
        "12/03/2024",
        "18:30",
        "@karim_b",
        "https://example.org/a?b=1",
        "3",
        "id_card_2",
    )
    bare = re.sub(r"⟦\d+⟧", "", protected.text)
    assert bare == "Call  or write to . On  at   sent  and  photos; file .pdf"
    assert restore(protected.text, protected) == text


def test_spans_in_other_scripts_digits_and_a_dropped_placeholder() -> None:
    protected = protect("رقمي ٠٦١٢٣٤٥٦٧٨ شكرا")
    assert protected.spans == ("٠٦١٢٣٤٥٦٧٨",)
    # A model that drops a placeholder loses nothing: the span is appended.
    assert restore("my number, thanks", protected) == "my number, thanks (٠٦١٢٣٤٥٦٧٨)"
    # A model that invents one adds nothing.
    assert restore("⟦0⟧ ⟦7⟧", protected) == "٠٦١٢٣٤٥٦٧٨ "


def test_long_sentences_are_cut_at_spaces_and_unspaced_text_by_length() -> None:
    words = "mot " * 300
    pieces = chunk(words.strip(), 400)
    assert all(len(p) <= 400 for p in pieces) and " ".join(p.strip() for p in pieces) == words.strip()
    han = "我" * 1000
    assert chunk(han, 400) == ["我" * 400, "我" * 400, "我" * 200]


def test_routes_direct_via_english_or_none() -> None:
    pairs = {("ar", "en"), ("en", "fr"), ("fr", "en"), ("en", "ar")}
    assert find_route(pairs, "fr", "fr") == Route(())
    assert find_route(pairs, "en", "fr") == Route((("en", "fr"),))
    assert find_route(pairs, "ar", "fr") == Route((("ar", "en"), ("en", "fr")))
    via = find_route(pairs, "ar", "fr")
    assert via is not None and via.kind == "via English"
    assert find_route(pairs, "ti", "fr") is None
