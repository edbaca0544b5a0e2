"""The web page's own words exist in every language the catalogs speak, so a person who chose their
language reads the text box, the buttons and the resume code's warning in it, not in English."""

from __future__ import annotations

from pathlib import Path

from bot.channels.web.texts import KEYS, RIGHT_TO_LEFT, WORDS, direction, words

LOCALES = Path(__file__).resolve().parents[2] / "locales"


def _catalog_languages() -> list[str]:
    return sorted(path.parent.parent.name for path in LOCALES.glob("*/LC_MESSAGES/accueil.po"))


def test_every_catalog_language_has_every_page_word() -> None:
    languages = _catalog_languages()
    assert len(languages) == 14
    for language in languages:
        assert language in WORDS, f"no page words for {language}"
        assert set(WORDS[language]) == set(KEYS), f"{language}: {set(KEYS) ^ set(WORDS[language])}"
        assert all(text.strip() for text in WORDS[language].values())


def test_the_page_words_are_translated_not_english_copies() -> None:
    for language in _catalog_languages():
        if language == "en":
            continue
        same = [key for key in ("write", "keep_code", "bad_code", "ended") if WORDS[language][key] == WORDS["en"][key]]
        assert not same, f"{language}: still English for {same}"
        assert words(language) == dict(WORDS[language])


def test_a_language_without_words_falls_back_to_english_and_arabic_script_runs_right_to_left() -> None:
    assert words("xx") == dict(WORDS["en"])
    assert words(None) == dict(WORDS["en"])
    assert {direction(language) for language in ("ar", "fa")} == {"rtl"}
    assert {direction(language) for language in _catalog_languages() if language not in RIGHT_TO_LEFT} == {"ltr"}
