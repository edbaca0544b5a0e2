"""`accueil run` as a real process: killed with SIGKILL mid-intake, started again, the victim continues."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from sqlalchemy import text

from bot.app.settings import Settings
from storage.db import make_engine
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, start_accueil_run


async def _start(api: FakeBotAPI, data_dir: Path, database_url: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "ACCUEIL_TELEGRAM_TOKEN": TOKEN,
        "ACCUEIL_DATA_DIR": str(data_dir),
        "ACCUEIL_DATABASE_URL": database_url,
    }
    return await start_accueil_run(api, env)


async def _outbox_drained(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        for _ in range(200):
            async with engine.connect() as connection:
                pending = await connection.scalar(text("SELECT count(*) FROM outbox WHERE status = 'pending'"))
            if pending == 0:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the outbox never drained")
    finally:
        await engine.dispose()


async def test_killed_mid_intake_the_victim_continues_at_the_same_step(settings: Settings) -> None:
    data_dir, database_url = settings.data_dir, settings.database_url
    async with FakeBotAPI(token=TOKEN) as api:
        first = await _start(api, data_dir, database_url)
        try:
            victim = Victim(api, user_id=2001, language_code="en")
            await victim.start()
            await victim.answer("No")
            await victim.answer("Yes")
            writer = await victim.question(timeout=20)
            assert writer.text == "Are you writing for yourself, or for someone else?"
            # Kill it between two steps: once the bot has recorded the question as delivered.
            # (Killed between sending and recording, the question would be sent once more.)
            await _outbox_drained(database_url)
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have ended on its own: say how, below
                first.kill()
            _, stderr = await first.communicate()
            if first.returncode != -signal.SIGKILL:
                raise AssertionError(
                    f"the bot ended by itself ({first.returncode}): {stderr.decode(errors='replace')[-3000:]}"
                )

        # While the bot is down the victim answers; the update waits at the Bot API.
        victim.press(writer, "For myself")
        second = await _start(api, data_dir, database_url)
        try:
            what = await victim.question(timeout=30)
            assert what.text is not None and what.text.startswith("What happened?")
            closed = api.message(victim.user_id, writer.message_id)
            assert closed is not None and closed.text is not None and closed.text.endswith("→ For myself")
            # Nothing was asked twice: one language, safety, consent and writer question each.
            questions = [m.text for m in api.bot_messages(victim.user_id) if m.inline_keyboard or "→" in (m.text or "")]
            assert len(questions) == len(set(questions))
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)
        assert second.returncode == 0, stderr.decode()[-2000:]
        assert b"Traceback" not in stderr
