"""Quick exit: one press or /exit erases the conversation from the victim's phone; the case stays."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app.settings import Settings
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation, OutboxMessage
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, RunningBot, Victim, intake_in_english, running_bot


async def _mid_intake(victim: Victim) -> None:
    await victim.start()
    await victim.answer("No")
    await victim.answer("Yes")
    await victim.question()
    victim.write("someone is watching my phone")  # typed where a button is expected
    await victim.question()


async def _case(running: RunningBot) -> Conversation:
    async with running.core.sessions() as session:
        return (await session.execute(select(Conversation))).scalar_one()


def _visible(api: FakeBotAPI, chat: int) -> list[str]:
    return [m.text or "" for m in api.chat_messages(chat) if not m.deleted]


async def test_the_exit_button_erases_both_sides_and_sends_nothing_more(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, settings) as running:
        victim = Victim(api, user_id=4001, language_code="en")
        await _mid_intake(victim)
        question = api.last_bot_message(victim.user_id)
        assert question is not None and "Exit and clear chat" in question.button_texts
        sent_before = len(api.calls_of("sendMessage"))
        victim.press(question, "Exit and clear chat")
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        await asyncio.sleep(0.5)  # time for anything else the bot might (wrongly) send
        assert len(api.calls_of("sendMessage")) == sent_before
        assert _visible(api, victim.user_id) == []
        assert all(m.deleted for m in api.chat_messages(victim.user_id))
        case = await _case(running)
        assert case.quick_exit is True and case.status == "ended"
        async with running.core.sessions() as session:
            entries = await read_transcript(session, case.public_id, recipient)
        assert "someone is watching my phone" in [e.text for e in entries]
        assert "the victim used the quick exit" in [e.text for e in entries if e.who == "system"]


async def test_exit_command_during_handoff_keeps_the_case_with_the_association(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    async with intake_in_english(settings, user_id=4002) as (api, running, victim):
        victim.write("/human")
        await victim.message()
        await api.wait_until(lambda: len(_visible(api, victim.user_id)) >= 4, 5)
        victim.write("/exit")
        await api.wait_until(lambda: _visible(api, victim.user_id) == [], 10)
        case = await _case(running)
        assert (case.status, case.quick_exit) == ("handoff", True)
        # Writing again later: the case is still the same one, nothing was lost.
        async with running.core.sessions() as session:
            entries = await read_transcript(session, case.public_id, recipient)
        assert [e.text for e in entries if e.who == "victim"][:2] == ["/start", "English"]


async def test_an_interrupted_erasure_resumes_after_a_restart(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        victim = Victim(api, user_id=4003, language_code="en")
        async with running_bot(api, settings) as running:
            await _mid_intake(victim)
            api.fail_next("deleteMessages", status=502, description="Bad Gateway", count=1000)
            victim.write("/exit")

            async def erase_pending() -> bool:
                async with running.core.sessions() as session:
                    rows = (await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "erase"))).all()
                return len(rows) == 1 and rows[0][0].status == "pending" and rows[0][0].attempts >= 1

            for _ in range(100):
                if await erase_pending():
                    break
                await asyncio.sleep(0.05)
            assert await erase_pending()
            assert _visible(api, victim.user_id) != []
        api.clear_faults()
        async with running_bot(api, settings):
            await api.wait_until(lambda: _visible(api, victim.user_id) == [], 15)
