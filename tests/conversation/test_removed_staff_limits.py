"""Someone removed from the staff is limited like anyone else, even by a bot that saw them flood as staff."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import staff
from bot.app.settings import Settings
from bot.conversation.limits import Limits
from testkit.fake_bot_api import FakeBotAPI
from testkit.guarded import guarded_bot
from testkit.telegram import TOKEN

FLOOD = Limits(flood_burst=5, flood_per_minute=60, conversations_per_day=1000)
#: The flood warning, in French or English (the language of the person's messages).
WARNED = ("Vous envoyez des messages très vite.", "You are sending messages very quickly.")


async def test_a_removed_staff_member_is_limited_like_anyone(settings: Settings) -> None:
    async with FakeBotAPI(token=TOKEN) as api, guarded_bot(api, settings, limits=FLOOD) as running:
        core = running.core
        marie = 7340031001
        await staff.staff_add(core.sessions, core.keys, marie, "Marie", "caseworker", None, datetime.now(UTC))
        for n in range(8):  # more than the burst: staff are never limited
            api.user_sends_text(marie, f"note {n}")
        await api.wait_until(lambda: len(api.bot_messages(marie)) >= 8, 15)
        await api.wait_updates_consumed()
        assert not any((m.text or "").startswith(WARNED) for m in api.bot_messages(marie))

        await staff.staff_remove(core.sessions, core.handoff, 1, datetime.now(UTC))
        for n in range(8):
            api.user_sends_text(marie, f"again {n}")
        await api.wait_until(lambda: any((m.text or "").startswith(WARNED) for m in api.bot_messages(marie)), 15)
