"""A running bot with a staff group and a team (two caseworkers, an Arabic interpreter), for the
tests of staff removal, the operator's case commands and the short server-readable windows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from bot.app.settings import Settings, load_settings
from bot.app.staff import staff_add
from bot.clock import utcnow
from bot.engine import Msg
from bot.handoff import StaffPress
from storage.models import Conversation
from testkit.fake_bot_api import FakeBotAPI, FakeMessage
from testkit.fakes import FakeTranslator
from testkit.telegram import TOKEN, RunningBot, Victim, running_bot

GROUP = -1001234567890
#: Telegram ids of two caseworkers and an Arabic interpreter; their staff ids are 1, 2 and 3.
MARIE, PAUL, SAMIRA = 9001, 9002, 9003
MARIE_ID, PAUL_ID, SAMIRA_ID = 1, 2, 3
PAIRS = {("ar", "en"), ("en", "ar"), ("en", "fr"), ("fr", "en")}


def words(message: FakeMessage | None) -> str:
    """What a message says (its caption for a file); a missing message says nothing."""
    return "" if message is None else (message.text or message.caption or "")


@dataclass
class Team:
    api: FakeBotAPI
    running: RunningBot
    translator: FakeTranslator

    def render(self, language: str, key: str) -> str:
        return self.running.core.content.catalogs.render(language, Msg(key))

    async def notice(self) -> FakeMessage:
        """The next announcement in the staff group (it carries a Claim button)."""
        return await self.api.wait_for_bot_message(GROUP, lambda m: bool(m.inline_keyboard))

    async def said_to(self, user: int, needle: str) -> FakeMessage:
        return await self.api.wait_for_bot_message(user, lambda m: needle in (m.text or ""))

    def texts_to(self, user: int) -> str:
        return "\n".join(words(m) for m in self.api.bot_messages(user))

    def buttons_gone(self, chat: int, message_id: int) -> bool:
        message = self.api.message(chat, message_id)
        return message is not None and message.inline_keyboard == []

    async def conversation(self, public_id: str | None = None) -> Conversation:
        async with self.running.core.sessions() as session:
            query = select(Conversation).order_by(Conversation.id.desc())
            if public_id is not None:
                query = query.where(Conversation.public_id == public_id)
            found = (await session.execute(query)).scalars().first()
        assert found is not None
        return found

    async def hand_off_in_arabic(self, user_id: int) -> tuple[Victim, str, FakeMessage]:
        """A person asks for someone in Arabic: the case is queued and announced."""
        victim = Victim(self.api, user_id=user_id, language_code="ar")
        victim.write("/start")
        await victim.answer("العربية")
        await victim.answer(self.render("ar", "common.human"))
        notice = await self.notice()
        return victim, (await self.conversation()).public_id, notice

    async def claim(self, user: int, case: str, notice: FakeMessage) -> FakeMessage:
        """`user` presses Claim; the summary they are sent."""
        self.api.user_presses(user, notice.message_id, StaffPress("claim", case).data(), chat_id=GROUP)
        return await self.said_to(user, "Résumé de l'entretien")

    async def invite_samira(self, case: str) -> None:
        self.api.user_sends_text(MARIE, "/invite")
        offer = await self.api.wait_for_bot_message(MARIE, lambda m: bool(m.inline_keyboard))
        self.api.user_presses(MARIE, offer.message_id, StaffPress("invite", case, SAMIRA_ID).data())
        await self.said_to(SAMIRA, f"vous invite sur le dossier {case}")


def staff_settings(settings: Settings, **extra: str) -> Settings:
    """`settings` with the staff group set and office hours "always" (`extra`: more ACCUEIL_ values)."""
    env = {
        "ACCUEIL_DATA_DIR": str(settings.data_dir),
        "ACCUEIL_DATABASE_URL": settings.database_url,
        "ACCUEIL_STAFF_CHAT_ID": str(GROUP),
        "ACCUEIL_OFFICE_HOURS": "always",
        **extra,
    }
    return load_settings(env)


@contextlib.asynccontextmanager
async def staffed_bot(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, **extra: str
) -> AsyncIterator[Team]:
    """The real bot on the fake Bot API, with the staff group, Marie, Paul and Samira, each with a
    private chat, and a fake translator that marks what it translated (`team.translator`)."""
    configured = staff_settings(settings, **extra)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured, clock=clock) as running:
        api.add_group(GROUP, "Équipe accueil")
        core = running.core
        translator = FakeTranslator(PAIRS)
        core.service.translator = translator
        core.handoff.translator = translator
        now = datetime.now(UTC)
        await staff_add(core.sessions, core.keys, MARIE, "Marie", "caseworker", None, now)
        await staff_add(core.sessions, core.keys, PAUL, "Paul", "caseworker", None, now)
        await staff_add(core.sessions, core.keys, SAMIRA, "Samira", "interpreter", "ar", now)
        for member in (MARIE, PAUL, SAMIRA):  # each opens a private chat with the bot once
            api.user_sends_text(member, "/start")
            await api.wait_for_bot_message(member, lambda m: "dossier" in (m.text or ""))
        yield Team(api, running, translator)
