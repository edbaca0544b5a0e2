"""Handoff through the real bot: the staff group, claiming, the summary, relay with translation,
an interpreter, transfer and close. The fake translator marks what it translated."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.app.staff import staff_add
from bot.engine import Msg
from bot.handoff import StaffPress
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage
from testkit.fake_bot_api import FakeBotAPI
from testkit.fakes import FakeClock
from testkit.staffed import GROUP, MARIE, PAUL, SAMIRA, Team, staff_settings, staffed_bot
from testkit.telegram import TOKEN, Victim, intake_in_english, running_bot


@pytest.fixture
async def team(settings: Settings) -> AsyncIterator[Team]:
    async with staffed_bot(settings) as running_team:
        yield running_team


async def _hand_off_in_arabic(team: Team, user_id: int = 7001) -> Victim:
    victim = Victim(team.api, user_id=user_id, language_code="ar")
    victim.write("/start")
    await victim.answer("العربية")
    await victim.answer(team.render("ar", "common.human"))
    return victim


async def _claimed_by_marie(team: Team, user_id: int) -> tuple[Victim, str]:
    """A person hands off in Arabic and Marie claims the case; she has its summary."""
    victim = await _hand_off_in_arabic(team, user_id)
    notice = await team.notice()
    case = (await team.conversation()).public_id
    team.api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
    await team.said_to(MARIE, "Résumé de l'entretien")
    return victim, case


async def test_a_case_goes_from_the_staff_group_to_a_caseworker_and_back_to_the_bot(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api = team.api
    victim = await _hand_off_in_arabic(team)
    await team.said_to(victim.user_id, team.render("ar", "handoff.open"))

    # The staff group is told, with nothing the person said.
    notice = await team.notice()
    conversation = await team.conversation()
    case = conversation.public_id
    assert case in notice.said and "(ar)" in notice.said and "Interprète" in notice.said
    assert conversation.case_status == "queued"

    # Marie claims it: the notice loses its button, the summary reaches her, the person is told.
    api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
    summary = await team.said_to(MARIE, "Résumé de l'entretien")
    assert case in summary.said and "brouillon" in summary.said
    await team.said_to(victim.user_id, team.render("ar", "handoff.claimed"))
    await api.wait_until(lambda: api.existing_message(GROUP, notice.message_id).inline_keyboard == [], 10)
    assert "pris par Marie" in api.existing_message(GROUP, notice.message_id).said

    # The person writes: Marie reads it in French, marked, with the original beneath.
    victim.write("أحتاج مكانا للنوم")
    relayed = await team.said_to(MARIE, "أحتاج مكانا للنوم")
    assert "[en>fr] [ar>en] أحتاج مكانا للنوم" in relayed.said and "[traduction automatique]" in relayed.said
    assert "original (ar)" in relayed.said

    # Marie answers: the person reads it in Arabic, marked as machine translation in Arabic.
    api.user_sends_text(MARIE, "Bonjour, je suis Marie.")
    answer = await team.said_to(victim.user_id, "Bonjour, je suis Marie.")
    assert answer.said.startswith("[en>ar] [fr>en] Bonjour, je suis Marie.")
    assert team.render("ar", "handoff.machine_translated") in answer.said
    assert (await team.conversation()).case_status == "active"

    # Marie invites the interpreter who speaks Arabic.
    api.user_sends_text(MARIE, "/invite")
    offer = await api.wait_for_bot_message(MARIE, lambda m: bool(m.inline_keyboard))
    api.user_presses(MARIE, offer.message_id, StaffPress("invite", case, 3).data())
    await team.said_to(SAMIRA, f"vous invite sur le dossier {case}")
    victim.write("شكرا")
    assert (await team.said_to(SAMIRA, "شكرا")).said.endswith("شكرا\u2069")  # her own words, untranslated
    await team.said_to(MARIE, "[en>fr] [ar>en] شكرا")
    # What the interpreter writes reaches the person as written, and Marie translated.
    api.user_sends_text(SAMIRA, "سنساعدك")
    await api.wait_for_bot_message(victim.user_id, lambda m: m.text == "سنساعدك")
    await team.said_to(MARIE, "[en>fr] [ar>en] سنساعدك")

    # Marie hands the case to Paul, who gets the summary; Paul closes it.
    api.user_sends_text(MARIE, "/transfer")
    offer = await api.wait_for_bot_message(MARIE, lambda m: bool(m.inline_keyboard))
    api.user_presses(MARIE, offer.message_id, StaffPress("transfer", case, 2).data())
    await team.said_to(PAUL, "Résumé de l'entretien")
    api.user_sends_text(PAUL, "/close")
    await team.said_to(victim.user_id, team.render("ar", "handoff.case_closed"))
    closed = await team.conversation()
    assert (closed.case_status, closed.status, closed.summary_sealed) == ("closed", "ended", None)

    # The next message starts a new intake.
    victim.write("مرحبا")
    await victim.question()

    # No word the person wrote ever reached the staff group.
    group_text = " ".join(m.text or "" for m in api.bot_messages(GROUP))
    for words in ("أحتاج", "شكرا", "سنساعدك"):
        assert words not in group_text

    # Everything relayed is in the transcript, in both languages.
    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    relayed_entries = [(e.who, e.text, e.translation, e.machine_translated) for e in entries if e.kind == "message"]
    assert ("victim", "أحتاج مكانا للنوم", "[en>fr] [ar>en] أحتاج مكانا للنوم", True) in relayed_entries
    assert ("caseworker", "Bonjour, je suis Marie.", "[en>ar] [fr>en] Bonjour, je suis Marie.", True) in (
        relayed_entries
    )
    assert ("interpreter", "سنساعدك", "[en>fr] [ar>en] سنساعدك", True) in relayed_entries
    assert any(e.kind == "summary" and case in (e.text or "") for e in entries)
    events = [e.text for e in entries if e.kind == "event"]
    assert "claimed by Marie" in events and "closed by Paul" in events


async def test_two_caseworkers_claim_at_once_and_exactly_one_gets_the_case(team: Team) -> None:
    api = team.api
    await _hand_off_in_arabic(team)
    notice = await team.notice()
    case = (await team.conversation()).public_id
    data = StaffPress("claim", case).data()
    # Both presses arrive in the same batch of updates, and are applied concurrently.
    first = api.user_presses(MARIE, notice.message_id, data, chat_id=GROUP)
    second = api.user_presses(PAUL, notice.message_id, data, chat_id=GROUP)
    answers = [await api.wait_for_callback_answer(first), await api.wait_for_callback_answer(second)]
    texts = sorted(a.text or "" for a in answers)
    winners = [t for t in texts if t.startswith("Le dossier est à vous")]
    losers = [t for t in texts if t.startswith("Dossier déjà pris par")]
    assert len(winners) == 1 and len(losers) == 1, texts
    holder = await team.conversation()
    expected = "Marie" if holder.caseworker_id == 1 else "Paul"
    assert losers[0] == f"Dossier déjà pris par {expected}."
    summaries = [
        m for user in (MARIE, PAUL) for m in api.bot_messages(user) if "Résumé de l'entretien" in (m.text or "")
    ]
    await asyncio.sleep(0.3)
    assert len(summaries) <= 1


async def test_someone_not_on_the_staff_cannot_claim_and_gets_the_victims_bot(team: Team) -> None:
    api = team.api
    await _hand_off_in_arabic(team)
    notice = await team.notice()
    case = (await team.conversation()).public_id
    stranger = 5555
    pressed = api.user_presses(stranger, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
    assert (await api.wait_for_callback_answer(pressed)).text == "Réservé à l'équipe de l'association."
    assert (await team.conversation()).case_status == "queued"
    api.user_sends_text(stranger, "/cases")  # a staff command from a stranger: the intake, as for anyone
    stranger_chat = Victim(api, stranger)
    assert (await stranger_chat.question()).text == "Choisissez votre langue.\nChoose your language."


async def test_a_staff_group_the_bot_cannot_reach_is_reported_and_retried_never_dropped(
    team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    api = team.api
    api.fail_next(
        "sendMessage", status=403, count=1, description="Forbidden: bot was kicked from the group chat", chat_id=GROUP
    )
    await _hand_off_in_arabic(team, user_id=7002)
    await api.wait_until(lambda: [c.status for c in api.calls_of("sendMessage") if c.params.get("chat_id") == GROUP]
                         == [403], 10)
    conversation = await team.conversation()
    async with team.running.core.sessions() as session:
        rows = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.destination == "group"))
        ).scalars().all()
    assert rows and all(row.status != "dropped" for row in rows)
    assert any("staff group" in r.getMessage() for r in caplog.records)
    # Once the bot is back, the notice is delivered: the outbox retries it (here: its backoff cut short).
    async with team.running.core.sessions.begin() as session:
        for row in (await session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending"))).scalars():
            row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    notice = await team.notice()
    assert conversation.public_id in notice.said


async def test_out_of_hours_the_person_is_told_when_and_the_case_is_announced_at_opening(
    settings: Settings, tmp_path: Path
) -> None:
    # Sunday 23:00 in Paris; the office opens on Monday at 09:00.
    clock = FakeClock(datetime(2026, 11, 29, 22, 0, tzinfo=UTC))
    configured = staff_settings(settings, ACCUEIL_OFFICE_HOURS="mon-fri 09:00-18:00")
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured, clock=clock) as running:
        api.add_group(GROUP, "Équipe accueil")
        catalogs = running.core.content.catalogs
        victim = Victim(api, user_id=7003, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        await victim.answer(catalogs.render("en", Msg("common.human")))
        told = await api.wait_for_bot_message(victim.user_id, lambda m: "not here right now" in (m.text or ""))
        assert "Mon, Nov 30, 9:00" in told.said and "116 006" in told.said and "17" in told.said
        await asyncio.sleep(0.5)  # several rounds of the announcer: nothing while closed
        assert api.bot_messages(GROUP) == []
        clock.set(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))  # Monday 09:05 in Paris
        notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
        assert "Nouveau dossier" in notice.said and "En attente depuis : 10 h 05" in notice.said


async def test_an_unclaimed_case_is_announced_again_and_an_urgent_one_sooner(settings: Settings) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    configured = staff_settings(settings, ACCUEIL_RENOTIFY_MINUTES="15")
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured, clock=clock) as running:
        api.add_group(GROUP, "Équipe accueil")
        catalogs = running.core.content.catalogs
        victim = Victim(api, user_id=7004, language_code="en")
        victim.write("/start")
        await victim.answer("English")
        await victim.answer(catalogs.render("en", Msg("common.human")))
        first = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
        assert first.said.startswith("Nouveau dossier")
        clock.advance(timedelta(minutes=10))
        await asyncio.sleep(0.5)
        assert len(api.bot_messages(GROUP)) == 1  # not urgent: 15 minutes
        clock.advance(timedelta(minutes=6))
        again = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
        assert again.said.startswith("Rappel : dossier en attente") and "16 min" in again.said

        urgent = Victim(api, user_id=7005, language_code="en")
        urgent.write("/start")
        await urgent.answer("English")
        await urgent.answer("Yes")  # in danger now: the case is urgent
        await urgent.answer(catalogs.render("en", Msg("common.human")))
        flagged = await api.wait_for_bot_message(GROUP, lambda m: "URGENT" in (m.text or ""))
        clock.advance(timedelta(minutes=6))  # a third of 15 minutes has passed
        reminder = await api.wait_for_bot_message(GROUP, lambda m: "URGENT" in (m.text or ""))
        assert reminder.message_id != flagged.message_id and "Rappel" in reminder.said


async def test_two_bot_processes_sharing_the_database_give_a_case_to_exactly_one_caseworker(
    settings: Settings,
) -> None:
    # Two bots, each with its own engine and connection pool, as two processes would have.
    configured = staff_settings(settings)
    first, second = await build_core(configured), await build_core(configured)
    try:
        now = datetime.now(UTC)
        await staff_add(first.sessions, first.keys, MARIE, "Marie", "caseworker", None, now)
        await staff_add(first.sessions, first.keys, PAUL, "Paul", "caseworker", None, now)
        from bot.channels.base import Inbound
        from bot.engine import Command, Press

        def inbound(user: int, event: Press | Command, key: str, staff_press: StaffPress | None = None) -> Inbound:
            return Inbound("telegram", str(user), str(user), event, update_key=key, staff_press=staff_press)

        async with first.sessions.begin() as session:
            await first.service.handle(session, inbound(7100, Command("start"), "1"))
        async with first.sessions.begin() as session:
            await first.service.handle(session, inbound(7100, Command("human"), "2"))
        async with first.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()

        async def claim(core: Core, user: int, key: str) -> str:
            async with core.sessions.begin() as session:
                outcome = await core.service.handle(
                    session, inbound(user, Press(0, ""), key, StaffPress("claim", case))
                )
            return str(outcome.toast)

        for round_ in range(5):  # several rounds: the race must be won once every time
            if round_:
                async with first.sessions.begin() as session:
                    conversation = (await session.execute(select(Conversation))).scalar_one()
                    conversation.case_status, conversation.caseworker_id = "queued", None
            toasts = await asyncio.gather(
                claim(first, MARIE, f"m{round_}"), claim(second, PAUL, f"p{round_}")
            )
            won = [t for t in toasts if t.startswith("Le dossier est à vous")]
            lost = [t for t in toasts if t.startswith("Dossier déjà pris par")]
            assert (len(won), len(lost)) == (1, 1), toasts
    finally:
        await first.close()
        await second.close()


async def test_a_photo_and_a_voice_message_reach_the_caseworker_and_are_sealed_in_the_transcript(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api = team.api
    victim, case = await _claimed_by_marie(team, user_id=7006)
    photo, voice = b"\xff\xd8\xff\xe0 a photo of a work contract", b"OggS a voice message"
    api.user_sends_photo(victim.user_id, content=photo)
    api.user_sends_voice(victim.user_id, content=voice)
    copies = [
        await api.wait_for_bot_message(MARIE, lambda m: m.media_type == "photo"),
        await api.wait_for_bot_message(MARIE, lambda m: m.media_type == "voice"),
    ]
    assert all(case in (m.caption or "") for m in copies)
    assert [c.params.get("protect_content") for c in api.calls_of("copyMessage")] == [True, True]
    api.user_sends_sticker(victim.user_id)  # cannot be passed on: the person is told, kindly
    await team.said_to(victim.user_id, team.render("ar", "handoff.media_not_relayed"))

    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    files = {e.text: base64.b64decode(e.data or "") for e in entries if e.kind == "media" and e.data}
    assert files == {"photo": photo, "voice": voice}


async def test_a_location_and_a_contact_shared_during_a_case_reach_the_caseworker_and_the_interpreter(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api = team.api
    victim, case = await _claimed_by_marie(team, user_id=7014)
    api.user_sends_text(MARIE, "/invite")
    offer = await api.wait_for_bot_message(MARIE, lambda m: bool(m.inline_keyboard))
    api.user_presses(MARIE, offer.message_id, StaffPress("invite", case, 3).data())
    await team.said_to(SAMIRA, f"vous invite sur le dossier {case}")
    api.user_sends_location(victim.user_id, 45.764, 4.8357)
    api.user_sends_contact(victim.user_id, "+33 6 98 76 54 32", first_name="Amina")
    for member in (MARIE, SAMIRA):  # each copy after a line naming the case (a location takes no caption)
        await team.said_to(member, f"[{case}] position partagée")
        place = await api.wait_for_bot_message(member, lambda m: m.media_type == "location")
        await team.said_to(member, f"[{case}] contact partagé")
        card = await api.wait_for_bot_message(member, lambda m: m.media_type == "contact")
        assert place.media["location"] == {"latitude": 45.764, "longitude": 4.8357}
        assert card.media["contact"]["phone_number"] == "+33 6 98 76 54 32"
    assert [c.params.get("protect_content") for c in api.calls_of("copyMessage")] == [True] * 4
    not_relayed = team.render("ar", "handoff.media_not_relayed")
    assert not any(m.text == not_relayed for m in api.bot_messages(victim.user_id))

    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    shared = {e.text for e in entries if e.mime == "application/json"}
    assert shared == {"location", "contact"}


async def test_a_photo_sent_during_the_intake_is_kept_sealed_and_the_question_asked_again(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with intake_in_english(settings, user_id=7007) as (api, running, victim):
        safety = await victim.question()
        api.user_sends_photo(victim.user_id, content=b"\xff\xd8 proof")
        again = await victim.question()
        assert again.text == safety.text and again.message_id != safety.message_id
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
            entries = await read_transcript(session, case, recipient)
        [media] = [e for e in entries if e.kind == "media"]
        kept = (media.text, media.mime, base64.b64decode(media.data or ""))
        assert kept == ("photo", "image/jpeg", b"\xff\xd8 proof")

        # A location and a contact are kept as shared, sealed; the question is asked again.
        api.user_sends_location(victim.user_id, 45.764, 4.8357)
        api.user_sends_contact(victim.user_id, "+33 6 98 76 54 32", first_name="Amina")
        await victim.question()
        await victim.question()
        async with running.core.sessions() as session:
            entries = await read_transcript(session, case, recipient)
        shared = {
            e.text: json.loads(base64.b64decode(e.data or "")) for e in entries if e.mime == "application/json"
        }
        assert shared["location"] == {"latitude": 45.764, "longitude": 4.8357}
        assert shared["contact"]["phone_number"] == "+33 6 98 76 54 32"


async def test_an_edit_and_a_forward_during_a_case_reach_the_caseworker_marked_and_are_kept(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api = team.api
    victim, case = await _claimed_by_marie(team, user_id=7008)
    first = victim.write("أنا في باريس")
    await team.said_to(MARIE, "أنا في باريس")
    api.user_edits(victim.user_id, _user_message_id(api, victim.user_id, first), "أنا في ليون")
    edited = await team.said_to(MARIE, "أنا في ليون")
    assert edited.said.startswith(f"[{case}] (message modifié)")
    api.user_sends_text(victim.user_id, "تعال غدا", forwarded_from="Boss")
    forwarded = await team.said_to(MARIE, "تعال غدا")
    assert "(message transféré" in forwarded.said
    async with team.running.core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    kinds = {(e.kind, e.text) for e in entries if e.who == "victim"}
    assert {("message", "أنا في باريس"), ("edit", "أنا في ليون"), ("forwarded", "تعال غدا")} <= kinds


def _user_message_id(api: FakeBotAPI, chat: int, update_id: int) -> int:
    return next(m.message_id for m in api.chat_messages(chat) if m.update_id == update_id)


async def test_bidirectional_overrides_and_html_reach_the_caseworker_harmless(team: Team) -> None:
    api = team.api
    victim, _ = await _claimed_by_marie(team, user_id=7009)
    # Right-to-left override to disguise "exe.pdf", zero-width joiners, a bell, and markup.
    victim.write("facture\u202egpj.exe\u200d\u0007 <b>urgent</b> <a href='x'>ici</a>")
    relayed = await team.said_to(MARIE, "facture")
    for char in ("\u202e", "\u200d", "\u0007"):
        assert char not in relayed.said
    assert "[U+202E]" in relayed.said and "[U+200D]" in relayed.said and "[U+0007]" in relayed.said
    assert "<b>urgent</b>" in relayed.said and relayed.entities in (None, [])  # shown as typed, not as markup
    call = next(c for c in reversed(api.calls_of("sendMessage")) if c.params.get("chat_id") == MARIE)
    assert "&lt;b&gt;urgent&lt;/b&gt;" in call.params["text"]


async def test_a_caseworker_with_two_cases_answers_by_replying_or_switches_with_case(team: Team) -> None:
    api = team.api
    first = await _hand_off_in_arabic(team, user_id=7010)
    notice = await team.notice()
    case_one = (await team.conversation()).public_id
    api.user_presses(MARIE, notice.message_id, StaffPress("claim", case_one).data(), chat_id=GROUP)
    await team.said_to(MARIE, f"Résumé de l'entretien — dossier {case_one}")
    second = await _hand_off_in_arabic(team, user_id=7011)
    notice = await team.notice()
    case_two = (await team.conversation()).public_id
    api.user_presses(MARIE, notice.message_id, StaffPress("claim", case_two).data(), chat_id=GROUP)
    await team.said_to(MARIE, f"Résumé de l'entretien — dossier {case_two}")

    first.write("سؤال من الأولى")
    from_first = await team.said_to(MARIE, "سؤال من الأولى")
    # Marie's focus is the case she claimed last; replying to the first person's message answers her.
    api.user_sends_text(MARIE, "Réponse pour la première", reply_to=from_first.message_id)
    await team.said_to(first.user_id, "Réponse pour la première")
    api.user_sends_text(MARIE, "Sans réponse : le dossier en cours")
    await team.said_to(second.user_id, "Sans réponse : le dossier en cours")
    api.user_sends_text(MARIE, f"/case {case_one.lower()}")
    await team.said_to(MARIE, f"Dossier en cours : {case_one}")
    api.user_sends_text(MARIE, "Après /case")
    await team.said_to(first.user_id, "Après /case")
    assert not any("Réponse pour la première" in (m.text or "") for m in api.bot_messages(second.user_id))
    assert not any("Après /case" in (m.text or "") for m in api.bot_messages(second.user_id))
    api.user_sends_text(MARIE, "/cases")
    listing = await team.said_to(MARIE, "Vos dossiers")
    assert case_one in listing.said and case_two in listing.said and "(en cours)" in listing.said


async def test_a_429_storm_during_a_case_delays_messages_but_loses_and_repeats_none(team: Team) -> None:
    api = team.api
    victim, _ = await _claimed_by_marie(team, user_id=7012)
    api.fail_next("sendMessage", status=429, retry_after=1, count=6)  # every chat is limited for a while
    for n in range(3):
        victim.write(f"رسالة {n}")
        api.user_sends_text(MARIE, f"Réponse {n}")
    for n in range(3):
        await team.said_to(MARIE, f"رسالة {n}")
        await team.said_to(victim.user_id, f"Réponse {n}")
    await asyncio.sleep(0.5)
    to_marie = [m.said for m in api.bot_messages(MARIE) if "رسالة" in (m.text or "")]
    to_victim = [m.said for m in api.bot_messages(victim.user_id) if "Réponse" in (m.text or "")]
    assert [any(f"رسالة {n}" in t for t in to_marie) for n in range(3)] == [True] * 3 and len(to_marie) == 3
    assert len(to_victim) == 3 and all(f"Réponse {n}" in to_victim[n] for n in range(3))  # in order, once each
    assert sum(1 for c in api.calls_of("sendMessage") if c.status == 429) == 6
    async with team.running.core.sessions() as session:
        pending = (await session.execute(select(OutboxMessage).where(OutboxMessage.status != "sent"))).scalars().all()
    assert pending == []


async def test_a_notice_and_a_relay_pending_when_the_bot_stops_are_delivered_once_after_restart(
    settings: Settings,
) -> None:
    configured = staff_settings(settings)
    async with FakeBotAPI(token=TOKEN) as api:
        api.add_group(GROUP, "Équipe accueil")
        async with running_bot(api, configured) as running:
            now = datetime.now(UTC)
            await staff_add(running.core.sessions, running.core.keys, MARIE, "Marie", "caseworker", None, now)
            api.user_sends_text(MARIE, "/start")
            await api.wait_for_bot_message(MARIE, None)
            api.fail_next("sendMessage", status=502, count=1000, chat_id=GROUP)  # the group is unreachable
            victim = Victim(api, user_id=7013, language_code="en")
            victim.write("/start")
            await victim.answer("English")
            await victim.answer(running.core.content.catalogs.render("en", Msg("common.human")))
            await api.wait_until(lambda: any(c.status == 502 for c in api.calls_of("sendMessage")), 10)
        # The bot is down; the group comes back.
        api.clear_faults()
        assert api.bot_messages(GROUP) == []
        async with running_bot(api, configured) as running:
            async with running.core.sessions.begin() as session:  # the retry is due now, not in a minute
                for row in (await session.execute(select(OutboxMessage))).scalars():
                    row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
            notice = await api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))
            case = notice.said.split()[2]
            api.user_presses(MARIE, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
            await api.wait_for_bot_message(MARIE, lambda m: "Résumé" in (m.text or ""))
            await asyncio.sleep(0.5)
        assert len([m for m in api.bot_messages(GROUP) if m.inline_keyboard or "pris par" in (m.text or "")]) == 1
        assert len([m for m in api.bot_messages(MARIE) if "Résumé" in (m.text or "")]) == 1
