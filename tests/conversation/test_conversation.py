"""The conversation service against a real database: persistence, restart, de-duplication, sealing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text

from bot.app.compose import Core, build_core
from bot.app.settings import Settings
from bot.channels.base import Inbound
from bot.engine import Command, Media, Press, Start, TextIn
from storage.models import Conversation, OutboxMessage
from testkit.fakes import RecordingSender
from testkit.service import press_button, receiver_for


async def test_first_message_opens_a_conversation_and_asks_the_language(core: Core) -> None:
    sender = RecordingSender()
    outcome = await receiver_for(core, sender).receive(
        Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1")
    )
    assert outcome.conversation_id is not None
    assert [chat for chat, _ in sender.items] == ["4242"]
    assert sender.items[0][1].text == "Choisissez votre langue.\nChoose your language."
    assert [lab for row in sender.items[0][1].buttons for lab, _ in row][:2] == ["Français", "English"]


async def test_the_same_update_twice_has_effect_once(core: Core) -> None:
    sender = RecordingSender()
    receiver = receiver_for(core, sender)
    await receiver.receive(Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1"))
    press = press_button(sender, "English", 2)
    first = await receiver.receive(press)
    count = len(sender.items)
    again = await receiver.receive(press)
    assert not first.duplicate and again.duplicate
    assert len(sender.items) == count
    async with core.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == count


async def test_a_restart_resumes_at_the_same_step(settings: Settings) -> None:
    sender = RecordingSender()
    core = await build_core(settings)
    receiver = receiver_for(core, sender)
    await receiver.receive(Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1"))
    await receiver.receive(press_button(sender, "English", 2))
    await receiver.receive(press_button(sender, "No", 3))
    await receiver.receive(press_button(sender, "Yes", 4))
    assert sender.last_question().text == "Are you writing for yourself, or for someone else?"
    await core.close()

    restarted = await build_core(settings)
    try:
        sender2 = RecordingSender()
        receiver2 = receiver_for(restarted, sender2)
        # The old keyboard is still on the phone: pressing it works after the restart.
        sender2.items = list(sender.items)
        await receiver2.receive(press_button(sender2, "For myself", 5))
        assert sender2.last_question().text.startswith("What happened?")
    finally:
        await restarted.close()


async def test_nothing_said_is_stored_in_clear(core: Core, settings: Settings, data_dir: Path) -> None:
    canary = "CANARY-7f3a9-Zz"
    sender = RecordingSender()
    receiver = receiver_for(core, sender)
    updates = iter(range(1, 100))

    async def send(event: Start | TextIn | Press | Command | Media) -> None:
        await receiver.receive(
            Inbound(channel="test", user="9876543", chat="9876543", event=event, update_key=str(next(updates)))
        )

    await send(Command("start"))
    for label in ("English", "No", "Yes", "For myself", "I prefer not to answer", "Done", "I prefer not to answer"):
        await send(press_button(sender, label, 0).event)
    assert sender.last_question().text.startswith("Which town")
    await send(TextIn(canary))
    assert sender.last_question().text.startswith("How can we contact you")

    async with core.sessions() as session:
        rows = list((await session.execute(text("SELECT * FROM conversations"))).all())
        rows += (await session.execute(text("SELECT * FROM outbox"))).all()
    dumped = repr(rows).encode()
    assert b"9876543" not in dumped
    assert canary.encode() not in dumped
    if settings.database_url.startswith("sqlite"):
        await core.engine.dispose()
        files = [path for path in data_dir.rglob("*") if path.is_file()]  # the key store folder too
        assert {f.name for f in files} >= {"accueil.db", "server.key"}
        for path in files:
            raw = path.read_bytes()
            assert canary.encode() not in raw, path.name
            assert b"9876543" not in raw, path.name
