"""A transcript reads in the order things happened: the person's words, the bot's answers, the handoff's.

Read back with the recipient key, through the real bot and the fake Bot API.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.app.settings import Settings, load_settings
from bot.app.staff import staff_add
from bot.engine import Msg
from bot.handoff import StaffPress
from bot.transcript.writer import Entry, read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot

STORY = "I cleaned houses for a year and was never paid."
SKIP = "I prefer not to answer"
GROUP = -1007770001111
MARIE = 9301


async def _entries(running: RunningBot, recipient: RecipientPrivateKey) -> list[Entry]:
    async with running.core.sessions() as session:
        case = (await session.execute(select(Conversation.public_id))).scalar_one()
        return await read_transcript(session, case, recipient)


def _index(entries: list[Entry], who: str, text: str) -> int:
    return next(i for i, e in enumerate(entries) if e.who == who and e.text == text)


async def test_the_last_free_text_comes_before_what_the_bot_and_the_handoff_said_after_it(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        render = running.core.content.catalogs.render
        victim = Victim(api, user_id=4301, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        await victim.answer("No")  # not in danger
        await victim.answer("Yes")  # consent
        for _ in range(7):  # writer, what happened, needs, documents, location, contact, when to contact
            await victim.answer(SKIP)
        await victim.answer("No")  # no interpreter
        await victim.question()  # the story, typed
        victim.write(STORY)
        told = render("en", Msg("handoff.open"))
        await api.wait_until(lambda: told in victim.texts(), 10)
        entries = await _entries(running, recipient)

    story = _index(entries, "victim", STORY)
    requested = next(i for i, e in enumerate(entries) if e.who == "bot" and i > story)
    handed_off = next(i for i, e in enumerate(entries) if e.kind == "event" and (e.text or "").startswith("handed off"))
    open_now = _index(entries, "bot", told)
    assert story < requested < handed_off < open_now
    ats = [e.at for e in entries]
    assert ats == sorted(ats)


async def test_a_handoff_asked_for_by_command_is_recorded_after_the_command(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        render = running.core.content.catalogs.render
        victim = Victim(api, user_id=4302, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        victim.write("/human")
        told = render("en", Msg("handoff.open"))
        await api.wait_until(lambda: told in victim.texts(), 10)
        entries = await _entries(running, recipient)
    assert _index(entries, "victim", "/human") < _index(entries, "bot", told)


async def test_during_a_case_the_persons_message_comes_before_what_the_bot_answers_it(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    configured = load_settings(
        {
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_STAFF_CHAT_ID": str(GROUP),
            "ACCUEIL_OFFICE_HOURS": "always",
        }
    )
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured) as running:
        api.add_group(GROUP, "Équipe accueil")
        render = running.core.content.catalogs.render
        await staff_add(running.core.sessions, running.core.keys, MARIE, "Marie", "caseworker", None, datetime.now(UTC))
        victim = Victim(api, user_id=4303, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        victim.write("/human")
        notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
        api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
        claimed = render("en", Msg("handoff.claimed"))
        await api.wait_until(lambda: claimed in victim.texts(), 10)
        api.user_sends_sticker(victim.user_id)  # cannot be passed on: the person is told
        not_relayed = render("en", Msg("handoff.media_not_relayed"))
        await api.wait_until(lambda: not_relayed in victim.texts(), 10)
        entries = await _entries(running, recipient)
    sticker = next(i for i, e in enumerate(entries) if e.kind == "media" and e.text == "sticker")
    assert sticker < _index(entries, "bot", not_relayed)
