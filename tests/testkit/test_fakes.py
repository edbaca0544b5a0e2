"""The in-tree fakes keep what they were asked and fail loudly on a use nobody set them up for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.base import OutItem
from bot.translation.port import NoTranslationPath
from testkit.fakes import FakeClock, FakeMonotonic, FakeTranslator, RecordingSender
from testkit.service import press_button


async def test_the_recording_sender_keeps_items_and_refuses_what_the_outbox_never_sends() -> None:
    sender = RecordingSender()
    with pytest.raises(AssertionError, match="no question"):
        sender.last_question()
    assert await sender.deliver("7", OutItem("message", "Hello", [[["Yes", "y"]]])) == "1"
    assert await sender.deliver("7", OutItem("notice", "Later")) == "2"
    assert sender.last_question().text == "Hello"
    with pytest.raises(AssertionError, match="unknown item kind 'fax'"):
        await sender.deliver("7", OutItem("fax"))
    assert [chat for chat, _ in sender.items] == ["7", "7"]


async def test_a_press_on_a_button_that_is_not_there_names_the_buttons_shown() -> None:
    sender = RecordingSender()
    await sender.deliver("7", OutItem("message", "Language?", [[["English", "x"]]]))
    with pytest.raises(AssertionError, match=r"no button 'Français'.*\['English'\]"):
        press_button(sender, "Français", 1)


async def test_the_fake_translator_knows_only_its_pairs() -> None:
    translator = FakeTranslator({("ar", "en"), ("en", "fr")})
    done = await translator.translate("salam", "ar", "fr")
    assert done.text == "[en>fr] [ar>en] salam"
    assert translator.calls == [("salam", "ar", "fr")]
    with pytest.raises(NoTranslationPath):
        await translator.translate("hola", "es", "fr")


def test_the_fake_clock_moves_only_forward_and_only_in_aware_time() -> None:
    start = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    clock = FakeClock(start)
    assert clock() == start
    clock.advance(timedelta(minutes=5))
    assert clock() == start + timedelta(minutes=5)
    with pytest.raises(AssertionError, match="does not go back"):
        clock.set(start)
    with pytest.raises(AssertionError, match="naive"):
        clock.set(datetime(2026, 12, 1, 10, 0))


async def test_the_fake_monotonic_clock_moves_only_by_sleeping() -> None:
    clock = FakeMonotonic()
    await clock.sleep(1.5)
    assert clock() == 1.5
    with pytest.raises(AssertionError, match="negative"):
        await clock.sleep(-1)
