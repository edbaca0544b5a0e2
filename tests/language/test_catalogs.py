"""Message catalogs: every key the dialogs and the bot use, in every language."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.engine import ENGINE_KEYS, Msg, Verbatim, load_dialog, load_dialogs
from bot.engine.languages import Languages
from bot.errors import MissingMessageError, PlaceholderMismatchError
from bot.language.i18n import BOT_KEYS, STANDARD_PARAMS, Catalog, Catalogs, check_catalogs, load_catalog, load_catalogs

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
INTAKE_PATH = ROOT / "dialogs" / "intake.yaml"
INTAKE = load_dialog(INTAKE_PATH)
KEYS = ENGINE_KEYS | BOT_KEYS


def po_path(locales: Path, language: str) -> Path:
    return locales / language / "LC_MESSAGES" / "accueil.po"


def copy_locales(tmp_path: Path, *languages: str) -> Path:
    locales = tmp_path / "locales"
    for language in languages:
        target = po_path(locales, language)
        target.parent.mkdir(parents=True)
        shutil.copy(po_path(LOCALES, language), target)
    return locales


def edit_entry(path: Path, key: str, change: Callable[[str], str | None]) -> None:
    """Apply `change` to the blank-line separated block holding `key` (None drops it)."""
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    hits = [i for i, block in enumerate(blocks) if f'\nmsgid "{key}"\n' in "\n" + block]
    assert len(hits) == 1, key
    changed = change(blocks[hits[0]])
    if changed is None:
        del blocks[hits[0]]
    else:
        assert changed != blocks[hits[0]]
        blocks[hits[0]] = changed
    path.write_text("\n\n".join(blocks), encoding="utf-8")


def test_real_dialogs_and_every_catalog_agree() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    assert {"en", "fr"} <= {catalog.language for catalog in catalogs}
    dialogs = load_dialogs(sorted((ROOT / "dialogs").glob("*.yaml")))
    assert "intake" in dialogs
    assert check_catalogs(dialogs.values(), catalogs, KEYS) == []


def test_every_catalog_holds_every_key() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    for catalog in catalogs:
        assert (INTAKE.message_keys() | KEYS) - set(catalog.messages) == set(), catalog.path


def test_a_missing_key_names_the_key_the_dialog_file_and_the_step(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path, "en", "fr")
    fr = po_path(locales, "fr")
    edit_entry(fr, "intake.writer.self", lambda block: None)
    problems = check_catalogs([INTAKE], load_catalogs(locales, "fr"), KEYS)
    assert len(problems) == 1
    problem = problems[0]
    assert isinstance(problem, MissingMessageError)
    assert (problem.path, problem.flow, problem.step) == (str(INTAKE_PATH), "intake", "writer")
    assert str(problem) == (
        f"{INTAKE_PATH}, flow 'intake', step 'writer': message 'intake.writer.self' is missing from {fr}"
    )


def test_an_empty_translation_counts_as_missing(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path, "en", "fr")
    fr = po_path(locales, "fr")
    edit_entry(fr, "common.done", lambda block: block.split("msgstr")[0] + 'msgstr ""')
    problems = check_catalogs([INTAKE], load_catalogs(locales, "fr"), KEYS)
    assert [(type(p), p.path, p.step) for p in problems] == [(MissingMessageError, "bot", None)]
    assert str(problems[0]) == f"bot: message 'common.done' is missing from {fr}"


def test_a_removed_placeholder_is_a_mismatch(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path, "en", "fr")
    en, fr = po_path(locales, "en"), po_path(locales, "fr")
    edit_entry(fr, "intake.no_consent.handoff", lambda block: block.replace("{police}", "17"))
    catalogs = load_catalogs(locales, "fr")
    assert catalogs.get("fr").placeholders("intake.no_consent.handoff") == {"emergency"}
    problems = check_catalogs([INTAKE], catalogs, KEYS)
    assert len(problems) == 1
    problem = problems[0]
    assert isinstance(problem, PlaceholderMismatchError)
    assert (problem.flow, problem.step) == ("intake", "handoff_without_consent")
    assert str(problem) == (
        f"{INTAKE_PATH}, flow 'intake', step 'handoff_without_consent': message 'intake.no_consent.handoff' "
        f"in {fr} uses {{emergency}} but {en} uses {{emergency}}, {{police}}"
    )


def test_an_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path, "en")
    en = po_path(locales, "en")
    edit_entry(en, "intake.writer.ask", lambda block: block.replace("someone else?", "someone else? {shelter}"))
    problems = check_catalogs([INTAKE], load_catalogs(locales, "en"), KEYS)
    assert len(problems) == 1
    problem = problems[0]
    assert isinstance(problem, PlaceholderMismatchError)
    assert problem.step == "writer"
    assert str(problem) == (
        f"{INTAKE_PATH}, flow 'intake', step 'writer': message 'intake.writer.ask' in {en} uses {{shelter}}, "
        "which the bot does not fill in (known: {emergency}, {helpline}, {helpline_abroad}, {police}, {sms})"
    )


def test_an_added_placeholder_in_a_translation_is_a_mismatch(tmp_path: Path) -> None:
    locales = copy_locales(tmp_path, "en", "fr")
    fr = po_path(locales, "fr")
    edit_entry(fr, "intake.safety.ask", lambda block: block.replace("?", "? {police}"))
    problems = check_catalogs([INTAKE], load_catalogs(locales, "fr"), KEYS)
    assert [(type(p), p.step) for p in problems] == [(PlaceholderMismatchError, "safety")]
    assert "uses {police} but" in str(problems[0])
    assert str(problems[0]).endswith("uses no placeholder")


def test_review_status_is_read_from_the_header(tmp_path: Path) -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    assert (catalogs.get("en").review, catalogs.get("fr").review) == ("draft", "draft")
    locales = copy_locales(tmp_path, "en")
    en = po_path(locales, "en")
    en.write_text(en.read_text(encoding="utf-8").replace("X-Accueil-Review: draft", "X-Accueil-Review: reviewed"))
    assert load_catalog(en, "en").review == "reviewed"
    en.write_text(en.read_text(encoding="utf-8").replace('"X-Accueil-Review: reviewed\\n"\n', ""))
    assert "X-Accueil-Review" not in en.read_text(encoding="utf-8")
    assert load_catalog(en, "en").review == "draft"


def test_a_broken_catalog_and_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(MissingMessageError, match="no catalog found"):
        load_catalogs(tmp_path, "fr")
    broken = po_path(tmp_path, "de")
    broken.parent.mkdir(parents=True)
    broken.write_text('msgid "a.b"\n', encoding="utf-8")  # no msgstr
    with pytest.raises(MissingMessageError) as caught:
        load_catalogs(tmp_path, "fr")
    assert str(caught.value) == f"{broken}: cannot read the catalog: missing msgstr for msgid 'a.b' on 0"


# --- rendering ----------------------------------------------------------------------

FR = Catalog(
    language="fr",
    path="fr.po",
    review="reviewed",
    messages={
        "language.name": "Français",
        "a.police": "Appelez le {police}.",
        "a.only_fr": "Seulement en français",
        "a.name": "Bonjour {name}",
    },
)
EN = Catalog(
    language="en",
    path="en.po",
    review="draft",
    messages={"language.name": "English", "a.police": "Call {police} or {emergency}; {unknown} stays."},
)
AR = Catalog(language="ar", path="ar.po", review="draft", messages={"language.name": "العربية"})
XX = Catalog(language="xx", path="xx.po", review="draft", messages={})


def test_render_fills_the_standard_params() -> None:
    catalogs = Catalogs({"fr": FR, "en": EN}, "fr")
    assert catalogs.render("en", Msg("a.police")) == "Call 17 or 112; {unknown} stays."
    assert catalogs.render("fr", Msg("a.police")) == "Appelez le 17."
    assert catalogs.render("en", Msg("a.police", {"police": "999"})) == "Call 999 or 112; {unknown} stays."
    assert catalogs.render("fr", Msg("a.name", {"name": "Amina"})) == "Bonjour Amina"
    assert STANDARD_PARAMS["police"] == "17"


def test_render_falls_back_to_the_fallback_catalog() -> None:
    catalogs = Catalogs({"fr": FR, "en": EN}, "fr")
    assert catalogs.render("en", Msg("a.only_fr")) == "Seulement en français"
    assert catalogs.render("de", Msg("a.police")) == "Appelez le 17."
    assert catalogs.render(None, Msg("a.police")) == "Appelez le 17."
    assert catalogs.render("en", Msg("no.such_key")) == "no.such_key"
    assert catalogs.render("en", Verbatim("{police} as is")) == "{police} as is"


def test_render_from_the_real_catalogs() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    assert catalogs.render("en", Msg("common.handoff_requested")) == (
        "We have asked a person from the association to answer you here, as soon as possible.\n"
        "If you are in danger, call 17 or 112."
    )
    assert catalogs.render("en", Msg("intake.safety.ask")) == "Are you in danger right now?"
    assert catalogs.render("de", Msg("intake.safety.ask")) == "Êtes-vous en danger en ce moment\u00a0?"


def test_language_keyboard_lists_each_language_in_its_own_name_fallback_first() -> None:
    catalogs = Catalogs({"en": EN, "xx": XX, "ar": AR, "fr": FR}, "fr")
    # The fallback, then English, then the others by code.
    assert catalogs.languages() == Languages((("fr", "Français"), ("en", "English"), ("ar", "العربية"), ("xx", "xx")))
    assert Catalogs({"en": EN, "ar": AR, "fr": FR}, "en").languages().choices == (
        ("en", "English"),
        ("ar", "العربية"),
        ("fr", "Français"),
    )
    # A fallback with no catalog falls back to the first language by code.
    missing = Catalogs({"en": EN, "fr": FR}, "de")
    assert missing.fallback == "en"
    assert missing.languages().choices == (("en", "English"), ("fr", "Français"))


def test_language_keyboard_of_the_real_catalogs() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    choices = catalogs.languages().choices
    assert choices[:2] == (("fr", "Français"), ("en", "English"))
    assert [code for code, _ in choices[2:]] == sorted(code for code, _ in choices[2:])
    assert all(name == catalogs.get(code).messages["language.name"] for code, name in choices)


def test_numbers_in_right_to_left_messages_are_isolated_and_intact() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    for language in ("ar", "fa"):
        text = catalogs.render(language, Msg("intake.end.next"))
        assert "\u2066+33 1 80 52 33 76\u2069" in text and "\u2066116 006\u2069" in text
        assert not any(mark in text for mark in ("\u200e", "\u200f", "\u202a", "\u202b", "\u202d", "\u202e"))
    english = catalogs.render("en", Msg("intake.end.next"))
    assert "+33 1 80 52 33 76" in english and "\u2066" not in english


def test_the_fourteen_languages_have_a_catalog_each() -> None:
    catalogs = load_catalogs(LOCALES, "fr")
    codes = {c.language for c in catalogs}
    assert codes == {"fr", "en", "ar", "es", "pt", "ro", "bg", "ru", "uk", "zh", "bn", "tl", "fa", "ti"}
    assert all(c.review in ("reviewed", "draft") for c in catalogs)
    names = dict(catalogs.languages().choices)
    assert (names["ar"], names["zh"], names["ti"], names["bn"]) == ("العربية", "中文（简体）", "ትግርኛ", "বাংলা")
