"""`accueil cases reassign CASE --to STAFF_ID` and `accueil cases close CASE`: the operator's hold on a
case, through the real bot and the fake Bot API; their errors are one line and exit code 2."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.admin import cases_close, cases_reassign
from bot.app.settings import Settings
from bot.app.staff import staff_remove
from bot.errors import AccueilError
from bot.handoff import operator, texts
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from testkit.accueil import operator_env, run_accueil
from testkit.staffed import GROUP, MARIE, MARIE_ID, PAUL, PAUL_ID, SAMIRA_ID, Team, staffed_bot, words


@pytest.fixture
async def team(settings: Settings) -> AsyncIterator[Team]:
    async with staffed_bot(settings) as staffed:
        yield staffed


async def test_the_operator_reassigns_a_case_and_the_previous_caseworker_stops_receiving(
    team: Team, recipient: RecipientPrivateKey
) -> None:
    api, core = team.api, team.running.core
    victim, case, notice = await team.hand_off_in_arabic(7201)
    await team.claim(MARIE, case, notice)

    said = await cases_reassign(core.sessions, core.handoff, case.lower(), PAUL_ID, datetime.now(UTC))
    assert said.startswith(f"case {case} reassigned to Paul (staff id {PAUL_ID})")
    await team.said_to(MARIE, operator.reassigned_away(case, "Paul"))
    await team.said_to(PAUL, texts.handed_to_you(case, operator.OPERATOR))
    gone = await team.said_to(PAUL, "Résumé de l'entretien")  # handed to Marie already: in the transcript
    assert "transcription" in words(gone) and f"accueil transcript show {case}" in words(gone)

    victim.write("CANARY-FOR-PAUL")
    await team.said_to(PAUL, "CANARY-FOR-PAUL")
    api.user_sends_text(PAUL, "Bonjour, je suis Paul.")
    await team.said_to(victim.user_id, "Bonjour, je suis Paul.")
    api.user_sends_text(MARIE, "Encore moi")  # not her case any more: it reaches no one
    await team.said_to(MARIE, texts.NO_CASE)
    await asyncio.sleep(0.3)
    assert "CANARY-FOR-PAUL" not in team.texts_to(MARIE)
    assert "Encore moi" not in " ".join(victim.texts())

    # Closed by the operator: the person is told in their language and is back with the bot.
    said = await cases_close(core.sessions, core.handoff, case, datetime.now(UTC))
    assert said.startswith(f"case {case} closed")
    await team.said_to(victim.user_id, team.render("ar", "handoff.case_closed"))
    await team.said_to(PAUL, texts.closed(case, operator.OPERATOR))
    closed = await team.conversation(case)
    assert (closed.case_status, closed.status, closed.caseworker_id) == ("closed", "ended", PAUL_ID)
    victim.write("مرحبا")
    await victim.question()
    async with core.sessions() as session:
        entries = await read_transcript(session, case, recipient)
    events = [e.text for e in entries if e.kind == "event"]
    assert "reassigned to Paul by the operator" in events and f"closed by {operator.OPERATOR}" in events


async def test_a_queued_case_reassigned_goes_straight_to_the_caseworker_with_its_summary(team: Team) -> None:
    api, core = team.api, team.running.core
    victim, case, notice = await team.hand_off_in_arabic(7202)
    await cases_reassign(core.sessions, core.handoff, case, MARIE_ID, datetime.now(UTC))
    summary = await team.said_to(MARIE, f"Résumé de l'entretien — dossier {case}")
    assert "Langue" in words(summary) and "transcription" not in words(summary)
    await team.said_to(victim.user_id, team.render("ar", "handoff.claimed"))
    await api.wait_until(lambda: team.buttons_gone(GROUP, notice.message_id), 10)
    assert (await team.conversation(case)).summary_sealed is None


async def test_a_queued_case_closed_by_the_operator_loses_its_claim_button(team: Team) -> None:
    api, core = team.api, team.running.core
    victim, case, notice = await team.hand_off_in_arabic(7203)
    await cases_close(core.sessions, core.handoff, case, datetime.now(UTC))
    await team.said_to(victim.user_id, team.render("ar", "handoff.case_closed"))
    await api.wait_until(lambda: team.buttons_gone(GROUP, notice.message_id), 10)
    assert words(api.message(GROUP, notice.message_id)) == texts.closed(case, operator.OPERATOR)


async def test_the_operators_mistakes_are_one_line_each(team: Team) -> None:
    core = team.running.core
    _, case, notice = await team.hand_off_in_arabic(7204)
    await staff_remove(core.sessions, core.handoff, PAUL_ID, datetime.now(UTC))
    now = datetime.now(UTC)
    wrong = {
        ("NOPE-NOPE", MARIE_ID): "there is no case NOPE-NOPE (it may have been purged)",
        (case, 99): "there is no staff member 99; see `accueil staff list`",
        (case, PAUL_ID): f"staff member {PAUL_ID} (Paul) was removed; see `accueil staff list`",
        (case, SAMIRA_ID): f"staff member {SAMIRA_ID} (Samira) is an interpreter: a case goes to a caseworker",
    }
    for (named, staff_id), message in wrong.items():
        with pytest.raises(AccueilError) as raised:
            await cases_reassign(core.sessions, core.handoff, named, staff_id, now)
        assert str(raised.value) == message
    await cases_reassign(core.sessions, core.handoff, case, MARIE_ID, now)
    again = await cases_reassign(core.sessions, core.handoff, case, MARIE_ID, now)
    assert again == f"case {case} is already with Marie"
    await cases_close(core.sessions, core.handoff, case, now)
    for attempt in (
        cases_close(core.sessions, core.handoff, case, now),
        cases_reassign(core.sessions, core.handoff, case, MARIE_ID, now),
    ):
        with pytest.raises(AccueilError, match=f"^case {case} is closed; `accueil cases list` shows the open ones$"):
            await attempt
    assert notice.message_id  # the announcement was made before any of this


def test_the_cases_commands_answer_an_unknown_case_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    env = operator_env(ACCUEIL_DATA_DIR=str(tmp_path / "data"))
    for args in (("reassign", "NOPE-NOPE", "--to", "1"), ("close", "NOPE-NOPE")):
        done = run_accueil("cases", *args, env=env)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "accueil: there is no case NOPE-NOPE (it may have been purged)"
        assert "Traceback" not in done.stderr
