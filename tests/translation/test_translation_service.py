"""The victim's free text reaches the transcript with its translation into the staff language."""

from __future__ import annotations

from sqlalchemy import select

from bot.app.compose import Core
from bot.channels.base import Inbound
from bot.engine import Command, TextIn
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.fakes import FakeTranslator, RecordingSender
from testkit.service import press_button, receiver_for


async def _choose_language(core: Core, sender: RecordingSender, language: str) -> None:
    receiver = receiver_for(core, sender)
    await receiver.receive(Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1"))
    first = sender.last_question()
    label = next(lab for row in first.buttons for lab, data in row if data.endswith(f":{language}"))
    await receiver.receive(press_button(sender, label, 2))


async def _case(core: Core) -> Conversation:
    async with core.sessions() as session:
        return (await session.execute(select(Conversation))).scalar_one()


async def test_free_text_is_sealed_with_its_machine_translation(core: Core, recipient: RecipientPrivateKey) -> None:
    core.service.translator = FakeTranslator({("ar", "en"), ("en", "fr")})
    sender = RecordingSender()
    await _choose_language(core, sender, "ar")
    receiver = receiver_for(core, sender)
    await receiver.receive(
        Inbound(channel="test", user="42", chat="4242", event=TextIn("أنا في خطر ☎ +33 6 12 34 56 78"), update_key="9")
    )
    async with core.sessions() as session:
        case = await _case(core)
        entries = await read_transcript(session, case.public_id, recipient)
    said = [e for e in entries if e.who == "victim" and e.kind == "message"]
    assert len(said) == 1
    assert said[0].text == "أنا في خطر ☎ +33 6 12 34 56 78"
    assert said[0].translation == "[en>fr] [ar>en] أنا في خطر ☎ +33 6 12 34 56 78"
    assert said[0].machine_translated is True and said[0].language == "ar"
    assert case.interpreter_needed is False


async def test_with_no_translation_path_the_case_needs_an_interpreter(
    core: Core, recipient: RecipientPrivateKey
) -> None:
    core.service.translator = FakeTranslator({("en", "fr")})
    sender = RecordingSender()
    await _choose_language(core, sender, "ti")
    await receiver_for(core, sender).receive(
        Inbound(channel="test", user="42", chat="4242", event=TextIn("ሰላም"), update_key="9")
    )
    case = await _case(core)
    assert case.interpreter_needed is True
    async with core.sessions() as session:
        entries = await read_transcript(session, case.public_id, recipient)
    said = [e for e in entries if e.who == "victim" and e.kind == "message"]
    assert [(e.text, e.translation, e.machine_translated) for e in said] == [("ሰላም", None, False)]


async def test_text_in_the_staff_language_is_not_translated(core: Core, recipient: RecipientPrivateKey) -> None:
    fake = FakeTranslator(set())
    core.service.translator = fake
    sender = RecordingSender()
    await _choose_language(core, sender, "fr")
    await receiver_for(core, sender).receive(
        Inbound(channel="test", user="42", chat="4242", event=TextIn("Bonjour"), update_key="9")
    )
    assert fake.calls == [] and (await _case(core)).interpreter_needed is False
