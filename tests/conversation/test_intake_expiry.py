"""An abandoned intake's working state is destroyed after ACCUEIL_INTAKE_EXPIRY_HOURS by the running
bot's periodic job; the transcript records it, and a person who writes again starts afresh."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.cli.run import intake_expiry
from bot.app.settings import Settings, load_settings
from bot.errors import ConfigError
from bot.transcript.writer import read_transcript
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot


async def _conversations(sessions: async_sessionmaker[AsyncSession]) -> list[Conversation]:
    async with sessions() as session:
        return list((await session.execute(select(Conversation).order_by(Conversation.id))).scalars().all())


async def test_an_intake_abandoned_for_the_expiry_hours_loses_its_working_state(
    settings: Settings, recipient: RecipientPrivateKey
) -> None:
    moment = [datetime(2026, 12, 1, 10, 0, tzinfo=UTC)]
    configured = load_settings(
        {
            "ACCUEIL_DATA_DIR": str(settings.data_dir),
            "ACCUEIL_DATABASE_URL": settings.database_url,
            "ACCUEIL_INTAKE_EXPIRY_HOURS": "48",
        }
    )
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured, clock=lambda: moment[0]) as running:
        core = running.core
        gone = Victim(api, user_id=7401, language_code="en")
        gone.write("/start")
        await gone.answer("English")
        await gone.question()
        moment[0] += timedelta(hours=47)
        stays = Victim(api, user_id=7402, language_code="en")
        stays.write("/start")
        await stays.answer("English")
        await stays.question()

        stop = asyncio.Event()
        job = asyncio.create_task(intake_expiry(core, stop, every=0.05))
        try:
            await asyncio.sleep(0.3)  # a few rounds: 47 hours is not abandoned yet
            assert [c.status for c in await _conversations(core.sessions)] == ["intake", "intake"]
            moment[0] += timedelta(hours=1, minutes=1)
            for _ in range(100):
                first, second = await _conversations(core.sessions)
                if first.status == "ended":
                    break
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await job
        assert (first.status, first.state_sealed) == ("ended", None)
        assert second.status == "intake" and second.state_sealed is not None
        async with core.sessions() as session:
            entries = await read_transcript(session, first.public_id, recipient)
        assert entries[-1].who == "system" and entries[-1].text == "intake abandoned"

        # The person writes again: a new intake, from the start.
        gone.write("hello")
        assert (await gone.question()).text == "Choisissez votre langue.\nChoose your language."
        conversations = await _conversations(core.sessions)
        assert len(conversations) == 3 and conversations[-1].status == "intake"
        assert conversations[-1].public_id != first.public_id


def test_the_expiry_is_72_hours_unless_set_and_a_wrong_value_is_named() -> None:
    assert load_settings({}).intake_expiry_hours == 72
    assert load_settings({"ACCUEIL_INTAKE_EXPIRY_HOURS": "24"}).intake_expiry_hours == 24
    for wrong in ("0", "two", "-5"):
        with pytest.raises(ConfigError, match=r"^ACCUEIL_INTAKE_EXPIRY_HOURS must be a whole number of hours"):
            load_settings({"ACCUEIL_INTAKE_EXPIRY_HOURS": wrong})
