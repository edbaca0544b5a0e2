"""Everything the bot sends fits Telegram's limits: a longer text goes in parts cut at sensible places,
never truncated, the buttons on the last part; the fake Bot API refuses over-long messages as Telegram does."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy import select

from bot.app.settings import Settings, load_settings
from bot.app.staff import staff_add
from bot.channels.telegram.runner import make_bot
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.split import CAPTION_LIMIT, TEXT_LIMIT, split_html
from bot.engine import Msg
from bot.handoff.cases import StaffPress
from bot.outbox.delivery import OutItem
from bot.translation.fake import FakeTranslator
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI, FakeMessage
from tests.telegram import TOKEN, RunningBot, Victim, running_bot

GROUP = -1001234567891
MARIE = 9101
SENTENCE = "أحتاج مكانا للنوم الليلة. "  # "I need a place to sleep tonight."


def _shown(part: str) -> int:
    """What Telegram counts: the text without tags, an entity as one character, in UTF-16 code units."""
    text = re.sub(r"<[^>]*>", "", part)
    text = re.sub(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);", "x", text)
    return len(text.encode("utf-16-le")) // 2


def _words(text: str) -> list[str]:
    return text.split()


# --- where a text is cut -------------------------------------------------------------


def test_a_text_within_the_limit_is_one_part() -> None:
    assert split_html("a" * TEXT_LIMIT) == ["a" * TEXT_LIMIT]


@pytest.mark.parametrize(
    ("text", "first_ends_with"),
    [
        (("Un paragraphe. " * 150).strip() + "\n\n" + "Suite. " * 400, "Un paragraphe."),
        ("Une ligne.\n" * 300 + "Fin sans point " * 200, "Une ligne."),
        ("Une phrase? Encore " * 300, "Une phrase?"),
        ("mot " * 1500, "mot"),
    ],
    ids=["paragraph", "line", "sentence", "word"],
)
def test_a_long_text_is_cut_at_the_best_place_and_nothing_is_lost(text: str, first_ends_with: str) -> None:
    parts = split_html(text)
    assert len(parts) >= 2
    assert all(_shown(part) <= TEXT_LIMIT for part in parts)
    assert parts[0].endswith(first_ends_with)
    assert _words(" ".join(parts)) == _words(text)  # not a word lost, none cut in two


def test_a_text_without_spaces_is_cut_between_characters_never_inside_a_surrogate_pair() -> None:
    text = "😀" * 3000  # two UTF-16 code units each
    parts = split_html(text)
    assert [_shown(part) for part in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == text


def test_an_entity_is_never_cut_and_counts_as_one_character() -> None:
    text = "a&amp;" * 3000
    parts = split_html(text)
    assert all(_shown(part) <= TEXT_LIMIT for part in parts)
    assert all(not re.search(r"&[a-z]*$", part) and not re.match(r"^[a-z]*;", part) for part in parts)
    assert "".join(parts) == text
    assert len(parts) == 2 and _shown(parts[0]) == TEXT_LIMIT


def test_a_tag_open_at_a_cut_is_closed_then_opened_again() -> None:
    text = '<b>Urgent</b> <a href="https://example.org/a">' + "lire la suite " * 400 + "</a> fin"
    parts = split_html(text, 1000)
    assert len(parts) >= 5 and all(_shown(part) <= 1000 for part in parts)
    for part in parts[:-1]:
        assert part.count("<a ") == part.count("</a>")
    assert parts[1].startswith('<a href="https://example.org/a">')
    assert all(not re.search(r"<[^>]*$", part) for part in parts)  # no tag cut
    assert re.sub(r"<[^>]*>", "", " ".join(parts)).split() == re.sub(r"<[^>]*>", "", text).split()


def test_captions_have_their_own_limit() -> None:
    parts = split_html("légende " * 300, CAPTION_LIMIT)
    assert len(parts) == 3 and all(_shown(part) <= CAPTION_LIMIT for part in parts)


# --- through the Bot API --------------------------------------------------------------


async def test_the_fake_bot_api_refuses_an_over_long_message_like_telegram() -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_user(4200)
        bot = Bot(token=TOKEN, session=make_bot(TOKEN, api.base_url).session)
        try:
            with pytest.raises(TelegramBadRequest, match="message is too long"):
                await bot.send_message(chat_id=4200, text="a" * (TEXT_LIMIT + 1))
            await bot.send_message(chat_id=4200, text="😀" * (TEXT_LIMIT // 2))  # exactly 4,096 code units
        finally:
            await bot.session.close()


async def test_a_long_question_goes_in_parts_with_its_buttons_on_the_last() -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_user(4201)
        bot = make_bot(TOKEN, api.base_url)
        try:
            text = ("Première partie <importante> & utile.\n\n" * 120) + "Êtes-vous en sécurité ?"
            item = OutItem(kind="message", text=text, buttons=[[["Oui", "yes"], ["Non", "no"]]])
            ref = await TelegramSender(bot).deliver("4201", item)
        finally:
            await bot.session.close()
        shown = api.bot_messages(4201)
        assert ref == " ".join(str(m.message_id) for m in shown)
        assert len(shown) == 2 and [bool(m.inline_keyboard) for m in shown] == [False, True]
        assert _words("\n\n".join(m.text or "" for m in shown)) == _words(text)


# --- through the bot, for a caseworker and for the person ---------------------------------


@dataclass
class Desk:
    api: FakeBotAPI
    running: RunningBot

    def render(self, language: str, key: str) -> str:
        return self.running.core.content.catalogs.render(language, Msg(key))


@pytest.fixture
async def desk(settings: Settings) -> AsyncIterator[Desk]:
    env = {
        "ACCUEIL_DATA_DIR": str(settings.data_dir),
        "ACCUEIL_DATABASE_URL": settings.database_url,
        "ACCUEIL_STAFF_CHAT_ID": str(GROUP),
        "ACCUEIL_OFFICE_HOURS": "always",
    }
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, load_settings(env)) as running:
        api.add_group(GROUP, "Équipe accueil")
        translator = FakeTranslator({("ar", "en"), ("en", "ar"), ("en", "fr"), ("fr", "en")})
        running.core.service.translator = translator
        running.core.handoff.translator = translator
        await staff_add(running.core.sessions, running.core.keys, MARIE, "Marie", "caseworker", None, datetime.now(UTC))
        api.user_sends_text(MARIE, "/start")
        await api.wait_for_bot_message(MARIE, lambda m: "dossier" in (m.text or ""))
        yield Desk(api, running)


async def _handed_off(desk: Desk, user_id: int) -> Victim:
    victim = Victim(desk.api, user_id=user_id, language_code="ar")
    victim.write("/start")
    await victim.answer("العربية")
    await victim.answer(desk.render("ar", "common.human"))
    await desk.api.wait_for_bot_message(victim.user_id, lambda m: m.text == desk.render("ar", "handoff.open"))
    return victim


def _fits(messages: list[FakeMessage]) -> bool:
    return all(len((m.text or "").encode("utf-16-le")) // 2 <= TEXT_LIMIT for m in messages)


def _count(word: str, messages: list[FakeMessage]) -> int:
    return sum((m.text or "").count(word) for m in messages)


FIRST_WORD = SENTENCE.split(maxsplit=1)[0]


async def _claim(desk: Desk, words: int = 0) -> list[FakeMessage]:
    """Marie claims the case the staff group was told about; what she received (once it holds
    `words` times the sentence's first word)."""
    notice = await desk.api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
    async with desk.running.core.sessions() as session:
        case = (
            (await session.execute(select(Conversation.public_id).order_by(Conversation.id.desc()))).scalars().first()
        )
    assert case is not None and case in (notice.text or "")
    press = StaffPress("claim", case).data()
    before = len(desk.api.bot_messages(MARIE))
    desk.api.user_presses(MARIE, notice.message_id, press, chat_id=GROUP)
    await desk.api.wait_for_bot_message(MARIE, lambda m: "Résumé de l'entretien" in (m.text or ""))
    await desk.api.wait_until(lambda: _count(FIRST_WORD, desk.api.bot_messages(MARIE)[before:]) >= words, 10)
    return desk.api.bot_messages(MARIE)[before:]


async def test_a_summary_over_five_thousand_characters_reaches_the_caseworker_whole(desk: Desk) -> None:
    victim = await _handed_off(desk, 4210)
    long_text = (SENTENCE * 60).strip()  # about 1,500 characters, twice in the summary, and translated
    victim.write(long_text)
    victim.write(long_text)
    await desk.api.wait_updates_consumed()
    parts = await _claim(desk, 60 * 2 * 2)
    summary = [m for m in parts if (m.text and FIRST_WORD in m.text) or m is parts[0]]
    assert sum(len(m.text or "") for m in summary) > 5000 and len(summary) >= 2
    assert _fits(parts)
    assert parts[0].text is not None and parts[0].text.startswith("Résumé de l'entretien")
    assert _count(FIRST_WORD, parts) == 60 * 2 * 2  # both messages, each in the original and translated


async def test_a_4096_character_message_is_relayed_whole_both_ways_and_erased_whole(desk: Desk) -> None:
    api = desk.api
    victim = await _handed_off(desk, 4211)
    await _claim(desk)
    four_k = (SENTENCE * 200)[:TEXT_LIMIT]  # the longest message Telegram lets a person send
    words = four_k.count(FIRST_WORD)
    before = len(api.bot_messages(MARIE))
    victim.write(four_k)
    await api.wait_until(lambda: _count(FIRST_WORD, api.bot_messages(MARIE)[before:]) >= 2 * words, 10)
    relayed = api.bot_messages(MARIE)[before:]
    assert len(relayed) >= 3 and _fits(relayed)  # header, translation and original: over 8,000 characters

    # Marie answers at length: the person receives all of it, in parts.
    answer = ("Nous allons vous aider à trouver un hébergement. " * 100)[:TEXT_LIMIT]
    shown, expected = len(api.bot_messages(victim.user_id)), answer.count("hébergement.")
    api.user_sends_text(MARIE, answer)
    await api.wait_until(
        lambda: sum(len(m.text or "") for m in api.bot_messages(victim.user_id)[shown:]) > TEXT_LIMIT, 10
    )
    to_victim = api.bot_messages(victim.user_id)[shown:]
    assert len(to_victim) >= 2 and _fits(to_victim)
    assert _count("hébergement.", to_victim) == expected
    assert to_victim[-1].text is not None and to_victim[-1].text.endswith(")")  # the machine-translation mark

    # The quick exit leaves no part behind.
    victim.write("/exit")
    await api.wait_until(lambda: all(m.deleted for m in api.chat_messages(victim.user_id)), 10)
