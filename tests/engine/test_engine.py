"""The pure dialog engine, on the real intake and on small inline dialogs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.engine import (
    ENGINE_KEYS,
    Answered,
    Ask,
    Button,
    Command,
    Dialog,
    Discretion,
    Effect,
    Event,
    Finished,
    HandedOff,
    LanguageChanged,
    Languages,
    Marked,
    Media,
    Msg,
    Press,
    QuickExit,
    Reselect,
    Say,
    Start,
    State,
    TextIn,
    Toast,
    Verbatim,
    advance,
    begin,
    load_dialog,
    parse_dialog,
)
from bot.engine.keyboard import DISCREET_VALUE, DONE_VALUE, EXIT_VALUE, HUMAN_VALUE, SKIP_VALUE
from bot.engine.steps import LANGUAGE_STEP
from bot.language.i18n import load_catalogs

ROOT = Path(__file__).resolve().parents[2]
INTAKE = load_dialog(ROOT / "dialogs" / "intake.yaml")
LANGS = Languages((("fr", "Français"), ("en", "English")))
NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

SKIP = Button(Msg("common.skip"), SKIP_VALUE)
HUMAN = Button(Msg("common.human"), HUMAN_VALUE)
DONE = Button(Msg("common.done"), DONE_VALUE)
EXIT = Button(Msg("common.exit"), EXIT_VALUE)
YES_NO_KB = ((Button(Msg("common.yes"), "yes"), Button(Msg("common.no"), "no")), (SKIP,), (HUMAN,), (EXIT,))
FREE_KB = ((SKIP,), (HUMAN,), (EXIT,))
DISCREET_BUTTON = Button(Msg("common.discreet_button"), DISCREET_VALUE)
LANG_KB = ((Button(Verbatim("Français"), "fr"), Button(Verbatim("English"), "en")), (DISCREET_BUTTON,), (EXIT,))
STALE = [Toast(Msg("common.stale_button"))]


def needs_kb(*selected: str) -> tuple[tuple[Button, ...], ...]:
    values = ["accommodation", "health", "papers", "french_work", "emergency_money", "legal"]
    rows = tuple((Button(Msg(f"intake.needs.{v}"), v, v in selected),) for v in values)
    return (*rows, (DONE,), (SKIP,), (HUMAN,), (EXIT,))


class Walk:
    """One conversation: keeps the state and every effect seen so far."""

    def __init__(self, dialog: Dialog = INTAKE, languages: Languages = LANGS) -> None:
        self.dialog = dialog
        self.languages = languages
        self.state, self.effects = begin(dialog, NOW, languages)
        self.seen: list[Effect] = list(self.effects)

    def send(self, inbound: Event) -> list[Effect]:
        self.state, self.effects = advance(self.dialog, self.state, inbound, NOW, self.languages)
        self.seen.extend(self.effects)
        return self.effects

    def press(self, value: str) -> list[Effect]:
        return self.send(Press(self.state.turn, value))

    def type(self, text: str) -> list[Effect]:
        return self.send(TextIn(text))

    def asked_steps(self) -> list[str]:
        return [e.step for e in self.seen if isinstance(e, Ask)]


def walk_to(*presses: str) -> Walk:
    walk = Walk()
    for value in presses:
        walk.press(value)
    return walk


# --- full walks through the intake ------------------------------------------------


def test_first_contact_asks_the_language_without_skip_or_person() -> None:
    walk = Walk()
    assert walk.effects == [Ask(Msg("intake.language.ask"), LANG_KB, 1, "language")]
    assert walk.state == State(flow="intake", step="language", turn=1, started_at="2025-03-01T12:30:00+00:00")


def test_advance_without_state_begins_the_dialog() -> None:
    state, effects = advance(INTAKE, None, TextIn("hello"), NOW, LANGS)
    assert (state.step, state.turn, state.status) == ("language", 1, "intake")
    assert effects == [Ask(Msg("intake.language.ask"), LANG_KB, 1, "language")]


def test_full_walk_in_danger_choosing_skipping_and_typing() -> None:
    walk = Walk()
    assert walk.press("en") == [
        Answered(1, Msg("intake.language.ask"), (Verbatim("English"),)),
        LanguageChanged("en"),
        Say(Msg("intake.welcome")),
        Ask(Msg("intake.safety.ask"), YES_NO_KB, 2, "safety"),
    ]
    assert walk.state.language == "en"
    assert walk.press("yes") == [
        Answered(2, Msg("intake.safety.ask"), (Msg("common.yes"),)),
        Marked("urgent"),
        Say(Msg("intake.safety.emergency")),
        Say(Msg("intake.about")),
        Ask(Msg("intake.consent.ask"), YES_NO_KB, 3, "consent"),
    ]
    assert walk.state.marks == frozenset({"urgent"})
    walk.press("yes")  # consent
    assert walk.press(SKIP_VALUE) == [  # writer
        Answered(4, Msg("intake.writer.ask"), (Msg("common.skip"),)),
        Ask(
            Msg("intake.what.ask"),
            (
                *(
                    (Button(Msg(f"intake.what.{v}"), v),)
                    for v in (
                        "forced_work",
                        "domestic_servitude",
                        "sexual_exploitation",
                        "forced_crime",
                        "violence_at_home",
                        "other_crime",
                    )
                ),
                (SKIP,),
                (HUMAN,),
                (EXIT,),
            ),
            5,
            "what_happened",
        ),
    ]
    walk.press("violence_at_home")
    walk.press("legal")
    walk.press("health")
    assert walk.press(DONE_VALUE)[0] == Answered(
        6, Msg("intake.needs.ask"), (Msg("intake.needs.health"), Msg("intake.needs.legal"))
    )
    walk.press("taken")
    assert walk.type("  Lyon  ") == [
        Answered(8, Msg("intake.location.ask"), ()),
        Ask(
            Msg("intake.contact.ask"),
            (
                *((Button(Msg(f"intake.contact.{v}"), v),) for v in ("this_chat", "phone_call", "sms", "meet")),
                (SKIP,),
                (HUMAN,),
                (EXIT,),
            ),
            9,
            "contact",
        ),
    ]
    walk.press("sms")
    walk.type("Evenings after 8 pm, no voice messages")
    walk.press("yes")  # interpreter
    walk.type("Tigrinya")
    assert walk.type("I was made to work without pay.") == [
        Answered(13, Msg("intake.story.ask"), ()),
        Say(Msg("intake.end.urgent")),
        HandedOff("intake_complete"),
    ]
    assert walk.asked_steps() == [
        "language",
        "safety",
        "consent",
        "writer",
        "what_happened",
        "needs",
        "documents",
        "location",
        "contact",
        "contact_time",
        "interpreter",
        "interpreter_language",
        "story",
    ]
    assert walk.state.answers == {
        "language": "en",
        "in_danger": "yes",
        "consent": "yes",
        "writer": None,
        "what_happened": "violence_at_home",
        "needs": ("health", "legal"),
        "documents": "taken",
        "location": "Lyon",
        "contact": "sms",
        "contact_time": "Evenings after 8 pm, no voice messages",
        "interpreter": "yes",
        "interpreter_language": "Tigrinya",
        "story": "I was made to work without pay.",
    }
    assert (walk.state.step, walk.state.status, walk.state.turn) == ("end_urgent", "handoff", 13)
    assert walk.state.marks == frozenset({"urgent"})
    assert walk.state.selection == ()


def test_full_walk_not_in_danger_ends_with_the_ordinary_handoff() -> None:
    walk = walk_to("fr", SKIP_VALUE)  # the danger question skipped
    assert walk.effects[1:] == [Say(Msg("intake.about")), Ask(Msg("intake.consent.ask"), YES_NO_KB, 3, "consent")]
    walk.press("yes")
    walk.press("behalf")
    walk.press(SKIP_VALUE)  # what happened
    walk.press(SKIP_VALUE)  # needs
    walk.press("no")  # documents: the option whose value is "no"
    walk.press(SKIP_VALUE)  # location
    walk.press("this_chat")
    walk.press(SKIP_VALUE)  # contact time
    walk.press("no")  # interpreter
    assert walk.press(SKIP_VALUE) == [  # story
        Answered(12, Msg("intake.story.ask"), (Msg("common.skip"),)),
        Say(Msg("intake.end.next")),
        HandedOff("intake_complete"),
    ]
    assert walk.asked_steps() == [
        "language",
        "safety",
        "consent",
        "writer",
        "what_happened",
        "needs",
        "documents",
        "location",
        "contact",
        "contact_time",
        "interpreter",
        "story",
    ]
    assert walk.state.answers == {
        "language": "fr",
        "in_danger": None,
        "consent": "yes",
        "writer": "behalf",
        "what_happened": None,
        "needs": None,
        "documents": "no",
        "location": None,
        "contact": "this_chat",
        "contact_time": None,
        "interpreter": "no",
        "story": None,
    }
    assert (walk.state.step, walk.state.status, walk.state.marks) == ("end", "handoff", frozenset())


def test_no_consent_then_leave_ends_the_conversation() -> None:
    walk = walk_to("en", "no")
    assert walk.press("no") == [
        Answered(3, Msg("intake.consent.ask"), (Msg("common.no"),)),
        Say(Msg("intake.no_consent.info")),
        Ask(
            Msg("intake.no_consent.ask"),
            (
                (Button(Msg("intake.no_consent.person"), "person"),),
                (Button(Msg("intake.no_consent.leave"), "leave"),),
                (SKIP,),
                (EXIT,),
            ),
            4,
            "no_consent_choice",
        ),
    ]
    assert walk.press("leave") == [
        Answered(4, Msg("intake.no_consent.ask"), (Msg("intake.no_consent.leave"),)),
        Say(Msg("intake.goodbye")),
        Finished(),
    ]
    assert (walk.state.step, walk.state.status) == ("goodbye", "ended")
    assert walk.state.answers == {"language": "en", "in_danger": "no", "consent": "no", "no_consent_choice": "leave"}
    # After the end: text is answered kindly, old buttons are stale.
    assert walk.type("hello?") == [Say(Msg("common.ended"))]
    assert walk.send(Press(4, "person")) == STALE
    assert walk.send(Media("photo")) == [Say(Msg("common.ended"))]


def test_skipped_consent_and_a_person_hands_off_without_consent() -> None:
    walk = walk_to("en", "no", SKIP_VALUE)
    assert walk.state.step == "no_consent_choice"
    assert walk.press("person") == [
        Answered(4, Msg("intake.no_consent.ask"), (Msg("intake.no_consent.person"),)),
        Say(Msg("intake.no_consent.handoff")),
        HandedOff("no_consent_person"),
    ]
    assert (walk.state.step, walk.state.status) == ("handoff_without_consent", "handoff")
    assert walk.state.answers["consent"] is None


def test_offer_person_false_removes_the_person_button() -> None:
    walk = walk_to("en", "no", "no")
    ask = walk.effects[-1]
    assert isinstance(ask, Ask)
    assert ask.step == "no_consent_choice"
    assert HUMAN not in [button for row in ask.buttons for button in row]
    dialog = parse_dialog(
        "flow: t\nstart: q\nsteps:\n"
        "  - {id: q, kind: yes_no, text: t.q, save: q, offer_person: false, next: done}\n"
        "  - {id: done, kind: end}\n",
        "x.yaml",
    )
    assert dialog.step("q").offer_person is False
    assert Walk(dialog).effects == [Ask(Msg("t.q"), (*YES_NO_KB[:2], (EXIT,)), 1, "q")]


# --- multiple choice --------------------------------------------------------------


def test_multi_choice_toggles_with_reselect_and_keeps_the_turn() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work")
    assert walk.state.step == "needs"
    turn = walk.state.turn
    assert walk.press("papers") == [Reselect(needs_kb("papers"), turn)]
    assert walk.press("accommodation") == [Reselect(needs_kb("accommodation", "papers"), turn)]
    assert list(walk.state.selection) == ["accommodation", "papers"]
    assert walk.press("papers") == [Reselect(needs_kb("accommodation"), turn)]
    assert list(walk.state.selection) == ["accommodation"]
    assert (walk.state.step, walk.state.turn) == ("needs", turn)
    assert "needs" not in walk.state.answers


def test_multi_choice_done_saves_a_tuple_in_option_order() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", "legal", "emergency_money", "accommodation")
    assert list(walk.state.selection) == ["accommodation", "emergency_money", "legal"]
    effects = walk.press(DONE_VALUE)
    assert effects[0] == Answered(
        6,
        Msg("intake.needs.ask"),
        (Msg("intake.needs.accommodation"), Msg("intake.needs.emergency_money"), Msg("intake.needs.legal")),
    )
    assert walk.state.answers["needs"] == ("accommodation", "emergency_money", "legal")
    assert (walk.state.step, walk.state.selection) == ("documents", ())


def test_multi_choice_done_with_nothing_selected_saves_none() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", "health", "health")
    assert walk.state.selection == ()
    effects = walk.press(DONE_VALUE)
    assert effects[0] == Answered(6, Msg("intake.needs.ask"), (Msg("common.skip"),))
    assert walk.state.answers["needs"] is None
    assert walk.state.step == "documents"


def test_multi_choice_skip_drops_the_selection() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", "health")
    walk.press(SKIP_VALUE)
    assert walk.state.answers["needs"] is None
    assert (walk.state.step, walk.state.selection) == ("documents", ())


# --- free text --------------------------------------------------------------------


def test_free_text_too_long_reasks_with_the_step_invalid_message() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", DONE_VALUE, "yes")
    before = walk.state
    assert before.step == "location"
    assert walk.type("x" * 121) == [
        Answered(before.turn, Msg("intake.location.ask"), ()),
        Say(Msg("intake.location.invalid")),
        Ask(Msg("intake.location.ask"), FREE_KB, before.turn + 1, "location"),
    ]
    assert walk.state == replace(before, turn=before.turn + 1)
    walk.type("y" * 120)
    assert walk.state.answers["location"] == "y" * 120
    assert walk.state.step == "contact"


def test_free_text_blank_story_is_invalid() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", DONE_VALUE, "yes", SKIP_VALUE, "sms", SKIP_VALUE, "no")
    before = walk.state
    assert before.step == "story"
    assert walk.type("   \n ") == [
        Answered(before.turn, Msg("intake.story.ask"), ()),
        Say(Msg("intake.story.invalid")),
        Ask(Msg("intake.story.ask"), FREE_KB, before.turn + 1, "story"),
    ]
    assert walk.state == replace(before, turn=before.turn + 1)


PATTERN_DIALOG = """\
flow: t
start: code
steps:
  - id: code
    kind: free_text
    text: t.code
    save: postcode
    validate: {min_length: 2, max_length: 5, pattern: "[0-9]+"}
    invalid: t.code_invalid
    next: name
  - id: name
    kind: free_text
    text: t.name
    save: name
    next: done
  - {id: done, kind: end, text: t.done}
"""


@pytest.mark.parametrize("text", ["7", "123456", "75a01", "ab"])
def test_free_text_validation_rules(text: str) -> None:
    walk = Walk(parse_dialog(PATTERN_DIALOG, "t.yaml"))
    before = walk.state
    assert walk.type(text) == [
        Answered(before.turn, Msg("t.code"), ()),
        Say(Msg("t.code_invalid")),
        Ask(Msg("t.code"), FREE_KB, 2, "code"),
    ]
    assert walk.state == replace(before, turn=2)


def test_free_text_valid_answer_and_default_invalid_message() -> None:
    walk = Walk(parse_dialog(PATTERN_DIALOG, "t.yaml"))
    assert walk.type(" 75001 ") == [Answered(1, Msg("t.code"), ()), Ask(Msg("t.name"), FREE_KB, 2, "name")]
    assert walk.state.answers == {"postcode": "75001"}
    assert walk.type("") == [
        Answered(2, Msg("t.name"), ()),
        Say(Msg("common.invalid_text")),
        Ask(Msg("t.name"), FREE_KB, 3, "name"),
    ]
    assert walk.type("Amina") == [Answered(3, Msg("t.name"), ()), Say(Msg("t.done")), Finished()]
    assert walk.state.answers == {"postcode": "75001", "name": "Amina"}
    assert walk.state.status == "ended"


# --- presses that do not apply ----------------------------------------------------


def test_press_with_an_old_turn_is_stale_and_changes_nothing() -> None:
    walk = walk_to("en", "no")
    before = walk.state
    assert before.turn == 3
    assert walk.send(Press(2, "yes")) == STALE
    assert walk.state == before
    assert walk.send(Press(4, "yes")) == STALE
    assert walk.state == before


@pytest.mark.parametrize(
    ("presses", "value"),
    [
        ((), "de"),  # language step: a language that is not offered
        (("en",), "maybe"),  # yes/no
        (("en", "no", "yes"), "nobody"),  # single choice
        (("en", "no", "yes", "self", "forced_work"), "money"),  # multi choice
        (("en", "no", "yes", "self", "forced_work", DONE_VALUE, "yes"), "yes"),  # free text
        ((), SKIP_VALUE),  # the language question cannot be skipped
    ],
)
def test_press_with_an_unknown_value_is_stale_and_changes_nothing(presses: tuple[str, ...], value: str) -> None:
    walk = walk_to(*presses)
    before = walk.state
    assert walk.press(value) == STALE
    assert walk.state == before


# --- a person ---------------------------------------------------------------------


def test_human_button_hands_off() -> None:
    walk = walk_to("en", "no", "yes")
    assert walk.press(HUMAN_VALUE) == [
        Answered(4, Msg("intake.writer.ask"), (Msg("common.human"),)),
        Say(Msg("common.handoff_requested")),
        HandedOff("asked_for_person"),
    ]
    assert (walk.state.status, walk.state.step, walk.state.turn) == ("handoff", "writer", 4)
    assert walk.type("are you there?") == [Say(Msg("common.with_person"))]
    assert walk.send(Press(4, "self")) == STALE
    assert walk.send(Command("human")) == [Say(Msg("common.already_with_person"))]
    assert walk.send(Command("help")) == [Say(Msg("common.with_person"))]
    assert walk.send(Start()) == [Say(Msg("common.with_person"))]
    assert walk.send(Media("voice")) == [Say(Msg("common.with_person"))]
    assert walk.state.status == "handoff"


def test_human_command_hands_off_and_clears_the_selection() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", "health")
    assert walk.send(Command("human")) == [Say(Msg("common.handoff_requested")), HandedOff("asked_for_person")]
    assert (walk.state.status, walk.state.step, walk.state.selection) == ("handoff", "needs", ())


# --- commands ---------------------------------------------------------------------


def test_language_command_mid_flow_returns_to_the_same_step_in_the_new_language() -> None:
    walk = walk_to("en", "no")
    assert walk.state.step == "consent"
    assert walk.send(Command("language")) == [
        Answered(3, Msg("intake.consent.ask"), ()),
        Ask(Msg("common.language_ask"), LANG_KB, 4, LANGUAGE_STEP),
    ]
    assert (walk.state.step, walk.state.resume, walk.state.language) == (LANGUAGE_STEP, "consent", "en")
    assert walk.type("français") == [
        Answered(4, Msg("common.language_ask"), ()),
        Say(Msg("common.choose_language")),
        Ask(Msg("common.language_ask"), LANG_KB, 5, LANGUAGE_STEP),
    ]
    assert walk.press("fr") == [
        Answered(5, Msg("common.language_ask"), (Verbatim("Français"),)),
        LanguageChanged("fr"),
        Ask(Msg("intake.consent.ask"), YES_NO_KB, 6, "consent"),
    ]
    assert (walk.state.step, walk.state.resume, walk.state.language) == ("consent", None, "fr")
    assert walk.state.answers == {"language": "en", "in_danger": "no"}
    walk.press("yes")
    assert walk.state.step == "writer"


def test_language_command_clears_a_pending_selection() -> None:
    walk = walk_to("en", "no", "yes", "self", "forced_work", "health")
    walk.send(Command("language"))
    assert walk.state.selection == ()
    assert walk.press("en")[-1] == Ask(Msg("intake.needs.ask"), needs_kb(), 8, "needs")


def test_language_command_on_the_language_question_just_reasks_it() -> None:
    walk = Walk()
    assert walk.send(Command("language")) == [
        Answered(1, Msg("intake.language.ask"), ()),
        Ask(Msg("intake.language.ask"), LANG_KB, 2, "language"),
    ]
    assert walk.state.resume is None
    walk = walk_to("en", "no")
    walk.send(Command("language"))
    assert walk.send(Command("language")) == [
        Answered(4, Msg("common.language_ask"), ()),
        Ask(Msg("common.language_ask"), LANG_KB, 5, LANGUAGE_STEP),
    ]
    assert walk.state.resume == "consent"


def test_language_command_after_the_end_does_not_ask_an_unanswerable_question() -> None:
    walk = walk_to("en", "no", "no", "leave")
    before = walk.state
    assert walk.send(Command("language")) == [Say(Msg("common.ended"))]
    assert walk.state == before


def test_restart_starts_again_keeping_the_language_and_the_turn_count() -> None:
    walk = walk_to("en", "yes", "no")
    assert walk.state.step == "no_consent_choice"
    old_turn = walk.state.turn
    assert walk.send(Command("restart")) == [Ask(Msg("intake.language.ask"), LANG_KB, old_turn + 1, "language")]
    assert walk.state == State(
        flow="intake",
        step="language",
        turn=old_turn + 1,
        language="en",
        started_at=NOW.isoformat(),
    )
    walk.press("en")
    walk.press("no")
    walk.press("yes")
    assert walk.state.step == "writer"
    # A button from the keyboard shown before the restart stays stale.
    assert walk.send(Press(old_turn, SKIP_VALUE)) == STALE
    assert "writer" not in walk.state.answers


def test_restart_after_a_handoff_and_start_after_the_end() -> None:
    walk = walk_to("en")
    walk.send(Command("human"))
    walk.send(Command("restart"))
    assert (walk.state.status, walk.state.step, walk.state.answers) == ("intake", "language", {})
    walk = walk_to("en", "no", "no", "leave")
    assert walk.send(Start()) == [Ask(Msg("intake.language.ask"), LANG_KB, 5, "language")]
    assert (walk.state.status, walk.state.step, walk.state.answers) == ("intake", "language", {})


@pytest.mark.parametrize(
    ("inbound", "preface"),
    [
        (Command("help"), "common.help"),
        (Command("teleport"), "common.unknown_command"),
        (Command("start"), "common.welcome_back"),
        (Start(), "common.welcome_back"),
        (Media("photo"), "common.unsupported_media"),
        (TextIn("yes please"), "common.use_buttons"),
    ],
)
def test_reasks_the_current_question_after(inbound: Event, preface: str) -> None:
    walk = walk_to("en")
    before = walk.state
    assert walk.send(inbound) == [
        Answered(before.turn, Msg("intake.safety.ask"), ()),
        Say(Msg(preface)),
        Ask(Msg("intake.safety.ask"), YES_NO_KB, 3, "safety"),
    ]
    assert walk.state == replace(before, turn=3)


def test_help_closes_the_old_copy_of_the_question_and_its_buttons_go_stale() -> None:
    walk = walk_to("en")
    old_turn = walk.state.turn
    assert walk.state.step == "safety"
    effects = walk.send(Command("help"))
    assert effects[0] == Answered(old_turn, Msg("intake.safety.ask"), ())
    assert effects == [
        Answered(old_turn, Msg("intake.safety.ask"), ()),
        Say(Msg("common.help")),
        Ask(Msg("intake.safety.ask"), YES_NO_KB, old_turn + 1, "safety"),
    ]
    before = walk.state
    assert walk.send(Press(old_turn, "yes")) == STALE
    assert walk.state == before
    assert "in_danger" not in walk.state.answers


def test_media_on_the_language_question() -> None:
    walk = Walk()
    assert walk.send(Media("sticker")) == [
        Answered(1, Msg("intake.language.ask"), ()),
        Say(Msg("common.unsupported_media")),
        Ask(Msg("intake.language.ask"), LANG_KB, 2, "language"),
    ]


def test_help_after_the_end_only_says_the_help() -> None:
    walk = walk_to("en", "no", "no", "leave")
    before = walk.state
    assert walk.send(Command("help")) == [Say(Msg("common.help"))]
    assert walk.state == before


def test_language_keyboard_rows_hold_two_languages() -> None:
    languages = Languages((("fr", "Français"), ("ar", "العربية"), ("en", "English")))
    walk = Walk(languages=languages)
    assert walk.effects == [
        Ask(
            Msg("intake.language.ask"),
            (
                (Button(Verbatim("Français"), "fr"), Button(Verbatim("العربية"), "ar")),
                (Button(Verbatim("English"), "en"),),
                (DISCREET_BUTTON,),
                (EXIT,),
            ),
            1,
            "language",
        )
    ]
    assert walk.press("ar")[0] == Answered(1, Msg("intake.language.ask"), (Verbatim("العربية"),))


# --- branches ---------------------------------------------------------------------

BRANCH_DIALOG = """\
flow: t
start: pick
steps:
  - id: pick
    kind: single_choice
    text: t.pick
    save: colour
    options:
      - {value: red, label: t.red}
      - {value: blue, label: t.blue}
      - {value: green, label: t.green}
    next: pets
  - id: pets
    kind: multi_choice
    text: t.pets
    save: pets
    options:
      - {value: cat, label: t.cat}
      - {value: dog, label: t.dog}
    next: route
  - id: route
    kind: branch
    mark: [routed]
    cases:
      - when: {answer: colour, skipped: true}
        goto: end_skipped
      - when: [{answer: colour, equals: red}, {answer: pets, contains: dog}]
        goto: end_red_dog
      - when: {answer: colour, equals: red}
        goto: end_red
      - when: {answer: colour, in: [blue]}
        goto: end_blue
      - when: {answer: pets, skipped: false}
        goto: end_pets_answered
    default: end_other
  - {id: end_skipped, kind: end, text: t.skipped}
  - {id: end_red_dog, kind: end, text: t.red_dog}
  - {id: end_red, kind: end, text: t.red_only}
  - {id: end_blue, kind: end, text: t.blue_only}
  - {id: end_pets_answered, kind: end, text: t.pets_answered}
  - {id: end_other, kind: handoff, reason: other}
"""


@pytest.mark.parametrize(
    ("presses", "end", "answers", "last"),
    [
        ((SKIP_VALUE, "dog", DONE_VALUE), "end_skipped", {"colour": None, "pets": ("dog",)}, Say(Msg("t.skipped"))),
        (
            ("red", "dog", "cat", DONE_VALUE),
            "end_red_dog",
            {"colour": "red", "pets": ("cat", "dog")},
            Say(Msg("t.red_dog")),
        ),
        (("red", "cat", DONE_VALUE), "end_red", {"colour": "red", "pets": ("cat",)}, Say(Msg("t.red_only"))),
        (("red", SKIP_VALUE), "end_red", {"colour": "red", "pets": None}, Say(Msg("t.red_only"))),
        (("blue", "dog", DONE_VALUE), "end_blue", {"colour": "blue", "pets": ("dog",)}, Say(Msg("t.blue_only"))),
        (
            ("green", "dog", DONE_VALUE),
            "end_pets_answered",
            {"colour": "green", "pets": ("dog",)},
            Say(Msg("t.pets_answered")),
        ),
        (("green", DONE_VALUE), "end_other", {"colour": "green", "pets": None}, HandedOff("other")),
    ],
)
def test_branch_conditions(presses: tuple[str, ...], end: str, answers: dict[str, object], last: Effect) -> None:
    walk = Walk(parse_dialog(BRANCH_DIALOG, "t.yaml"))
    for value in presses:
        walk.press(value)
    assert walk.state.step == end
    assert walk.state.answers == answers
    assert walk.state.marks == frozenset({"routed"})
    assert walk.effects[1:] == [Marked("routed"), last] + ([] if isinstance(last, HandedOff) else [Finished()])
    assert walk.state.status == ("handoff" if isinstance(last, HandedOff) else "ended")


def test_routes_by_answer_with_default() -> None:
    dialog = parse_dialog(
        "flow: t\nstart: q\nsteps:\n"
        "  - id: q\n    kind: single_choice\n    text: t.q\n    save: q\n"
        "    options: [{value: a, label: t.a}, {value: b, label: t.b}]\n"
        "    next: {a: end_a, default: end_rest}\n"
        "  - {id: end_a, kind: end}\n  - {id: end_rest, kind: end}\n",
        "t.yaml",
    )
    for value, end in (("a", "end_a"), ("b", "end_rest"), (SKIP_VALUE, "end_rest")):
        walk = Walk(dialog)
        assert walk.press(value)[-1] == Finished()
        assert walk.state.step == end


# --- state ------------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    walk = walk_to("en", "yes", "yes", SKIP_VALUE, "forced_crime", "legal", DONE_VALUE, "some")
    walk.send(Command("language"))  # leaves a pending resume
    state = walk.state
    data = state.to_dict()
    assert data == {
        "flow": "intake",
        "step": LANGUAGE_STEP,
        "turn": 9,
        "language": "en",
        "answers": {
            "language": "en",
            "in_danger": "yes",
            "consent": "yes",
            "writer": None,
            "what_happened": "forced_crime",
            "needs": ["legal"],
            "documents": "some",
        },
        "marks": ["urgent"],
        "selection": [],
        "status": "intake",
        "started_at": "2025-03-01T12:30:00+00:00",
        "resume": "location",
    }
    assert State.from_dict(json.loads(json.dumps(data))) == state


def test_state_round_trip_keeps_a_selection_and_a_status() -> None:
    state = State(
        flow="intake",
        step="needs",
        turn=7,
        language="ar",
        answers={"needs": ("health", "papers"), "writer": None},
        marks=frozenset({"urgent", "minor"}),
        selection=("health", "legal"),
        status="handoff",
        started_at="2025-01-01T00:00:00+00:00",
    )
    data = json.loads(json.dumps(state.to_dict()))
    assert data["marks"] == ["minor", "urgent"]
    assert State.from_dict(data) == state


def test_state_from_dict_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown status 'lost'"):
        State.from_dict({"flow": "intake", "step": "safety", "status": "lost"})


def test_state_from_dict_defaults() -> None:
    assert State.from_dict({"flow": "intake", "step": "safety"}) == State(flow="intake", step="safety")


# --- message keys -----------------------------------------------------------------


def _keys(effects: list[Effect]) -> set[str]:
    keys: set[str] = set()

    def add(label: Msg | Verbatim) -> None:
        if isinstance(label, Msg):
            keys.add(label.key)

    for effect in effects:
        if isinstance(effect, Say | Toast | Ask):
            add(effect.text)
        elif isinstance(effect, Answered):
            add(effect.question)
            for label in effect.echo:
                add(label)
        if isinstance(effect, Ask | Reselect):
            for row in effect.buttons:
                for button in row:
                    add(button.label)
    return keys


def test_every_message_key_the_engine_emits_is_in_the_english_catalog() -> None:
    english = load_catalogs(ROOT / "locales", "fr").get("en").messages
    walks: list[Walk] = []
    walk = Walk()
    walk.type("hello")
    walk.send(Media("photo"))
    walk.press(DISCREET_VALUE)
    walk.press(DISCREET_VALUE)
    walk.press("en")
    walk.send(Command("help"))
    walk.send(Command("nope"))
    walk.send(Start())
    walk.type("yes")
    walk.press("yes")
    walk.send(Command("language"))
    walk.type("en")
    walk.press("en")
    walk.press("yes")
    walk.send(Press(1, "en"))
    walk.press(SKIP_VALUE)
    walk.press("forced_work")
    walk.press("health")
    walk.press(DONE_VALUE)
    walk.press("yes")
    walk.type("x" * 500)
    walk.type("Paris")
    walk.press("meet")
    walk.type("x" * 500)
    walk.type("mornings")
    walk.press("yes")
    walk.type("x" * 500)
    walk.type("Dari")
    walk.type(" ")
    walk.type("story")
    walk.type("after the end")
    walk.send(Command("human"))
    walk.send(Command("human"))
    walk.type("still there?")
    walks.append(walk)
    walks.append(walk_to("fr", "no", "no", "leave"))
    walks[-1].type("bye")
    walks.append(walk_to("fr", "no", SKIP_VALUE, "person"))
    walks.append(walk_to("fr", "no", "yes", HUMAN_VALUE))
    walks.append(walk_to("fr", "no", "yes", "self", "forced_work", "health", "health", DONE_VALUE, SKIP_VALUE))
    skip = SKIP_VALUE
    walks.append(walk_to("fr", "no", "yes", "self", "forced_work", skip, "no", skip, skip, skip, "no", skip))
    assert walks[-1].state.step == "end"
    seen = set().union(*(_keys(w.seen) for w in walks))
    assert seen - set(english) == set()
    # The walks are meant to reach every key the engine has of its own (the
    # intake gives every free-text step its own `invalid` message) and every
    # key of the intake.
    assert ENGINE_KEYS - seen == {"common.invalid_text"}
    assert INTAKE.message_keys() - seen == set()


def test_a_first_message_in_another_language_puts_that_language_first() -> None:
    three = Languages((("fr", "Français"), ("en", "English"), ("ar", "العربية")))
    state, effects = begin(INTAKE, NOW, three, "ar", ("ar",))
    assert state.language == "ar"
    assert effects == [
        Ask(
            Msg("intake.language.ask"),
            (
                (Button(Verbatim("العربية"), "ar"), Button(Verbatim("Français"), "fr")),
                (Button(Verbatim("English"), "en"),),
                (DISCREET_BUTTON,),
                (EXIT,),
            ),
            1,
            "language",
        )
    ]


def test_text_at_the_language_question_proposes_the_guessed_language_and_the_victim_decides() -> None:
    three = Languages((("fr", "Français"), ("en", "English"), ("ar", "العربية")))
    walk = Walk(languages=three)
    before = walk.state
    effects = walk.send(TextIn("مرحبا", guesses=("ar", "fa")))  # fa has no catalog here: ignored
    assert effects == [
        Answered(before.turn, Msg("intake.language.ask"), ()),
        LanguageChanged("ar"),
        Ask(
            Msg("intake.language.ask"),
            (
                (Button(Verbatim("العربية"), "ar"), Button(Verbatim("Français"), "fr")),
                (Button(Verbatim("English"), "en"),),
                (DISCREET_BUTTON,),
                (EXIT,),
            ),
            before.turn + 1,
            "language",
        ),
    ]
    assert walk.state.step == "language" and walk.state.language == "ar"
    walk.press("en")
    assert walk.state.language == "en" and walk.state.step == "safety"
    # Without a guess, typing at the language question only asks to use the buttons.
    plain = Walk(languages=three)
    assert plain.send(TextIn("???"))[1] == Say(Msg("common.choose_language"))
    # A guess plays no part once the language is chosen.
    assert walk.send(TextIn("مرحبا", guesses=("ar",)))[1] == Say(Msg("common.use_buttons"))


@pytest.mark.parametrize("how", ["button", "command", "old button"])
def test_quick_exit_from_any_step_even_an_old_keyboard(how: str) -> None:
    walk = walk_to("en", "no", "yes")
    old_turn = walk.state.turn - 1
    ways: dict[str, Event] = {
        "button": Press(walk.state.turn, EXIT_VALUE),
        "command": Command("exit"),
        "old button": Press(old_turn, EXIT_VALUE),
    }
    assert walk.send(ways[how]) == [QuickExit()]
    assert walk.state.status == "ended" and "quick_exit" in walk.state.marks


def test_quick_exit_during_handoff_keeps_the_handoff() -> None:
    walk = walk_to("en", "no", "yes")
    walk.send(Command("human"))
    assert walk.send(Command("exit")) == [QuickExit()]
    assert walk.state.status == "handoff" and "quick_exit" in walk.state.marks


def test_discreet_mode_is_toggled_on_the_language_keyboard_and_kept() -> None:
    walk = Walk()
    turn = walk.state.turn
    on = (Button(Msg("common.discreet_button"), DISCREET_VALUE, True),)
    assert walk.send(Press(turn, DISCREET_VALUE)) == [
        Discretion(True),
        Reselect((LANG_KB[0], on, LANG_KB[2]), turn),
        Toast(Msg("common.discreet_on")),
    ]
    assert "discreet" in walk.state.marks and walk.state.turn == turn
    assert walk.send(Press(turn, DISCREET_VALUE))[0] == Discretion(False)
    assert "discreet" not in walk.state.marks
    walk.send(Press(turn, DISCREET_VALUE))
    walk.send(Press(turn, "en"))
    assert "discreet" in walk.state.marks  # kept once the language is chosen
    assert walk.send(Press(turn, DISCREET_VALUE)) == STALE  # an old keyboard changes nothing


def test_discreet_command_works_at_any_step_and_asks_the_question_again() -> None:
    walk = walk_to("en")
    effects = walk.send(Command("discreet"))
    assert effects[0] == Discretion(True) and Say(Msg("common.discreet_on")) in effects
    assert isinstance(effects[-1], Ask) and effects[-1].step == walk.state.step
    assert walk.send(Command("discreet"))[0] == Discretion(False)


# --- the engine's shape ------------------------------------------------------------


def test_the_event_union_is_named_event_and_inbound_is_the_channels_alone() -> None:
    import typing

    import bot.engine
    from bot.channels.base import Inbound

    assert set(typing.get_args(Event)) == {Start, TextIn, Press, Command, Media}
    assert not hasattr(bot.engine, "Inbound")
    assert "Inbound" not in bot.engine.__all__
    assert Inbound.__module__ == "bot.channels.base"


def test_the_engine_is_pure_and_in_short_modules() -> None:
    """No I/O library and no clock inside bot/engine; no module over 400 lines."""
    import ast

    allowed = {"__future__", "collections", "dataclasses", "datetime", "enum", "pathlib", "re", "typing", "yaml"}
    for path in sorted((ROOT / "bot" / "engine").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) <= 400, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or name.startswith(("bot.engine", "bot.errors")), (path, name)
        # Randomness and time.time would be imports; the clock through datetime is a call.
        assert not any(call in source for call in (".now(", ".today(", ".utcnow(")), path
