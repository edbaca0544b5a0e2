"""`accueil staff invite`: a one-time enrolment link, valid 24 hours, printed and sent to the person's
private chat with the bot; only a hash of its token is stored."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from sqlalchemy import select

from bot.console import invites
from storage.models import StaffInvite
from testkit.accueil import accueil_argv, operator_env
from testkit.staffed import MARIE, MARIE_ID, SAMIRA_ID
from testkit.telegram import TOKEN
from tests.console.conftest import Served


async def invite(served: Served, staff_id: int, **extra: str) -> tuple[int, str]:
    settings = served.team.running.core.settings
    env = operator_env(
        ACCUEIL_DATA_DIR=str(settings.data_dir),
        ACCUEIL_DATABASE_URL=settings.database_url,
        ACCUEIL_WEB_PUBLIC_URL=served.base,
        **extra,
    )
    process = await asyncio.create_subprocess_exec(
        *accueil_argv("staff", "invite", str(staff_id)),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


def link_in(text: str, base: str) -> str:
    return next(word for word in text.split() if word.startswith(f"{base}/console/enrol/"))


async def test_the_link_is_printed_sent_on_telegram_stored_as_a_hash_and_valid_once(served: Served) -> None:
    api = served.team.api
    code, out = await invite(served, MARIE_ID, ACCUEIL_TELEGRAM_TOKEN=TOKEN, ACCUEIL_TELEGRAM_API_BASE=api.base_url)
    assert code == 0, out
    link = link_in(out, served.base)
    assert "Also sent to Marie's private chat with the bot." in out
    message = await api.wait_for_bot_message(MARIE, lambda m: link in (m.text or ""))
    assert "24 heures" in (message.text or "")

    token = link.rsplit("/", 1)[1]
    async with served.team.running.core.sessions() as session:
        stored = (await session.execute(select(StaffInvite))).scalars().all()
        assert [s.token_hash for s in stored] == [invites.token_hash(token)]
        assert token not in repr([(s.token_hash, s.staff_id) for s in stored])
        # Valid for 24 hours, not a minute more.
        now = served.team.running.core.clock()
        assert await invites.pending(session, token, now + timedelta(hours=23, minutes=59)) is not None
        assert await invites.pending(session, token, now + timedelta(hours=24, minutes=1)) is None

    async with aiohttp.ClientSession() as http:
        async with http.get(link) as response:
            assert response.status == 200 and 'data-page="enrol"' in await response.text()
        # A second invitation replaces the first: the old link works no more.
        code, out = await invite(served, MARIE_ID)
        assert code == 0
        async with http.get(link) as response:
            assert response.status == 410
        async with http.get(link_in(out, served.base)) as response:
            assert response.status == 200


async def test_without_a_token_or_when_telegram_fails_the_link_is_still_printed(served: Served) -> None:
    code, out = await invite(served, SAMIRA_ID)
    assert code == 0 and link_in(out, served.base)
    assert "Not sent on Telegram: no ACCUEIL_TELEGRAM_TOKEN is set. Give them the link yourself." in out
    served.team.api.fail_next("sendMessage", status=502, count=100)
    code, out = await invite(
        served, SAMIRA_ID, ACCUEIL_TELEGRAM_TOKEN=TOKEN, ACCUEIL_TELEGRAM_API_BASE=served.team.api.base_url
    )
    served.team.api.clear_faults()
    assert code == 0 and link_in(out, served.base)
    assert "Not sent on Telegram: " in out and "Give them the link yourself." in out
    assert "Traceback" not in out


async def test_there_is_no_link_for_someone_not_on_the_team(served: Served) -> None:
    code, out = await invite(served, 99)
    assert code != 0 and "there is no staff member 99" in out and "Traceback" not in out
