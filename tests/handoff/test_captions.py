"""A photo's, video's or document's caption is the person's words: kept sealed, translated, shown to staff.

Through the real bot and the fake Bot API; the fake translator marks what it translated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app.admin import render_text
from bot.app.settings import Settings, load_settings
from bot.app.staff import staff_add
from bot.channels.base import Inbound
from bot.conversation.parking import inbound_from_json, inbound_to_json
from bot.engine import Media
from bot.handoff import StaffPress
from bot.handoff.sanitize import for_staff
from bot.handoff.texts import MT_MARK
from bot.transcript.writer import Entry, read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI, FakeMessage
from testkit.fakes import FakeTranslator
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot

GROUP = -1005550001111
MARIE, SAMIRA = 9201, 9202  # a caseworker, an English interpreter
PAIRS = {("en", "fr"), ("fr", "en")}
#: Telegram's limit on a media message's caption.
CAPTION_LIMIT = 1024


@dataclass
class Office:
    api: FakeBotAPI
    running: RunningBot
    recipient: RecipientPrivateKey

    async def entries(self) -> list[Entry]:
        async with self.running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
            return await read_transcript(session, case, self.recipient)


@pytest.fixture
async def office(settings: Settings, recipient: RecipientPrivateKey) -> AsyncIterator[Office]:
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
        core = running.core
        translator = FakeTranslator(PAIRS)
        core.service.translator = translator
        core.handoff.translator = translator
        now = datetime.now(UTC)
        await staff_add(core.sessions, core.keys, MARIE, "Marie", "caseworker", None, now)
        await staff_add(core.sessions, core.keys, SAMIRA, "Samira", "interpreter", "en", now)
        for member in (MARIE, SAMIRA):
            api.user_sends_text(member, "/start")
            await api.wait_for_bot_message(member, lambda m: "dossier" in (m.text or ""))
        yield Office(api, running, recipient)


async def _claimed_with_interpreter(office: Office, victim: Victim) -> str:
    api = office.api
    victim.write("/start")
    await victim.answer("English")
    victim.write("/human")
    notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
    async with office.running.core.sessions() as session:
        case = (await session.execute(select(Conversation.public_id))).scalar_one()
    api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
    await api.wait_for_bot_message(MARIE, lambda m: "Résumé de l'entretien" in (m.text or ""))
    api.user_sends_text(MARIE, "/invite")
    offer = await api.wait_for_bot_message(MARIE, lambda m: bool(m.inline_keyboard))
    api.user_presses(MARIE, offer.message_id, offer.callback_data_for("Samira"))
    await api.wait_for_bot_message(SAMIRA, lambda m: f"vous invite sur le dossier {case}" in (m.text or ""))
    return case


def _copies(api: FakeBotAPI, staff: int, kind: str) -> list[FakeMessage]:
    return [m for m in api.bot_messages(staff) if m.media_type == kind]


async def test_a_caption_sent_during_the_intake_is_kept_translated_with_its_photo(office: Office) -> None:
    api = office.api
    victim = Victim(api, user_id=4201, language_code="en")
    victim.write("/start")
    await victim.answer("English")
    await victim.question()
    api.user_sends_photo(victim.user_id, caption="my contract, they kept my passport")
    await victim.question()  # the question asked again
    [media] = [e for e in await office.entries() if e.kind == "media"]
    assert (media.text, media.caption, media.language) == ("photo", "my contract, they kept my passport", "en")
    assert media.translation == "[en>fr] my contract, they kept my passport" and media.machine_translated


async def test_a_caption_during_a_case_reaches_the_caseworker_translated_and_the_interpreter_as_written(
    office: Office,
) -> None:
    api = office.api
    victim = Victim(api, user_id=4202, language_code="en")
    case = await _claimed_with_interpreter(office, victim)
    api.user_sends_document(victim.user_id, file_name="payslip.pdf", caption="no pay since March")
    copy = await api.wait_for_bot_message(MARIE, lambda m: m.media_type == "document")
    caption = copy.caption or ""
    assert case in caption and "document" in caption
    assert f"{for_staff('[en>fr] no pay since March')} {MT_MARK}" in caption
    assert f"original (en) : {for_staff('no pay since March')}" in caption
    seen = await api.wait_for_bot_message(SAMIRA, lambda m: m.media_type == "document")
    assert case in (seen.caption or "") and "no pay since March" in (seen.caption or "")
    assert "[en>fr]" not in (seen.caption or "")
    [media] = [e for e in await office.entries() if e.kind == "media"]
    assert (media.caption, media.translation) == ("no pay since March", "[en>fr] no pay since March")


async def test_a_caption_sent_while_the_case_waits_is_in_the_summary_the_caseworker_gets(office: Office) -> None:
    api = office.api
    victim = Victim(api, user_id=4204, language_code="en")
    victim.write("/start")
    await victim.answer("English")
    victim.write("/human")
    notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
    answered = len(api.bot_messages(victim.user_id))
    api.user_sends_photo(victim.user_id, caption="the address where I sleep")
    await api.wait_until(lambda: len(api.bot_messages(victim.user_id)) > answered, 10)  # "a person will answer"
    async with office.running.core.sessions() as session:
        case = (await session.execute(select(Conversation.public_id))).scalar_one()
    api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
    summary = await api.wait_for_bot_message(MARIE, lambda m: "Résumé de l'entretien" in (m.text or ""))
    assert for_staff("[en>fr] the address where I sleep") in (summary.text or "")


async def test_a_caption_too_long_for_a_copy_follows_it_as_a_message(office: Office) -> None:
    api = office.api
    victim = Victim(api, user_id=4203, language_code="en")
    case = await _claimed_with_interpreter(office, victim)
    words = ("they took my passport and my phone, " * 40)[:999] + "."  # fits Telegram's limit as sent
    api.user_sends_photo(victim.user_id, caption=words)
    copy = await api.wait_for_bot_message(MARIE, lambda m: m.media_type == "photo")
    assert case in (copy.caption or "") and len(copy.caption or "") < CAPTION_LIMIT
    after = await api.wait_for_bot_message(MARIE, lambda m: words[:200] in (m.text or ""))
    assert after.message_id > copy.message_id and MT_MARK in (after.text or "")
    assert f"original (en) : {for_staff(words)}" in (after.text or "")
    seen = await api.wait_for_bot_message(SAMIRA, lambda m: m.media_type == "photo")
    assert len(seen.caption or "") <= CAPTION_LIMIT
    assert for_staff(words) in " ".join(m.content or "" for m in api.bot_messages(SAMIRA))
    assert all(call.status == 200 for call in api.calls_of("copyMessage"))


def test_a_parked_photo_keeps_its_caption_for_the_replay() -> None:
    inbound = Inbound(
        channel="telegram", user="4204", chat="4204", event=Media("photo", caption="my passport"), message_ref="7"
    )
    assert inbound_from_json(inbound_to_json(inbound)) == inbound


def test_a_transcript_shows_a_caption_under_its_file_and_its_translation() -> None:
    photo = Entry(
        "victim",
        "2026-12-03T10:00:00+00:00",
        "media",
        text="photo",
        caption="my passport",
        language="en",
        translation="mon passeport",
        machine_translated=True,
        name="photo.jpg",
        mime="image/jpeg",
        data="AAAA",
    )
    shown = render_text("CASE", [photo])
    assert "photo: photo.jpg" in shown and "my passport" in shown and "→ mon passeport [machine translation]" in shown
    assert "my passport" in render_text("CASE", [replace(photo, data=None)])
