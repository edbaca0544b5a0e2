"""Edited and forwarded messages during the intake: recorded, and no step is run twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app.settings import Settings
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.telegram import intake_in_english


async def test_an_edited_answer_is_recorded_and_the_intake_does_not_go_back(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with intake_in_english(settings, user_id=8201) as (api, running, victim):
        await victim.answer("No")  # not in danger
        await victim.answer("Yes")  # consent
        await victim.answer("For myself")
        await victim.answer("Forced or unpaid work")
        needs = await victim.question()
        victim.press(needs, "Done")
        await victim.answer("Someone took them")
        await victim.question()  # where: typed
        victim.write("Paris")
        contact = await victim.question()
        sent_before = len(api.bot_messages(victim.user_id))
        paris = next(m for m in api.chat_messages(victim.user_id) if m.text == "Paris" and not m.from_bot)
        api.user_edits(victim.user_id, paris.message_id, "Lyon")
        await api.wait_updates_consumed()
        await asyncio.sleep(0.3)
        assert len(api.bot_messages(victim.user_id)) == sent_before  # nothing asked again
        assert api.existing_message(victim.user_id, contact.message_id).inline_keyboard  # still the current question
        api.user_sends_text(victim.user_id, "Come to work tomorrow", forwarded_from="Boss")
        await victim.question()  # where buttons are expected, text gets the question again
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation.public_id))).scalar_one()
            entries = await read_transcript(session, case, recipient)
        said = [(e.kind, e.text) for e in entries if e.who == "victim" and e.kind != "answer"]
        assert ("message", "Paris") in said and ("edit", "Lyon") in said
        assert ("forwarded", "Come to work tomorrow") in said
