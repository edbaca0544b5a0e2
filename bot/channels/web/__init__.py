"""The web chat: the same intake as on Telegram, in a page, for people who have no Telegram.

`WebChat` is the channel: it turns what the page sends into `Inbound` values for
the same `Receiver` (flood limits, daily cap, blocked users, office hours,
handoff, transcript sealing) and delivers the conversation's `OutItem`s to the
page through its own `Sender` (`bot.channels.web.sender`), which the shared
outbox reaches through `Outbox.route("web", ...)`. The HTTP side is
`bot.channels.web.routes`, mounted under "/chat/" by the composition.

Nothing of a person stays in memory longer than their page (`sessions`), nothing
is written but what the conversation writes for every channel, and a resume
code is stored only as a keyed hash (`resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select

from bot import engine
from bot.channels.base import Inbound, Outcome
from bot.channels.web import resume
from bot.channels.web.addresses import AddressLimits
from bot.channels.web.proof import BITS, ProofOfWork
from bot.channels.web.refusal import Refusal
from bot.channels.web.routes import make_app
from bot.channels.web.sender import WebSender
from bot.channels.web.sessions import Sessions, WebSession
from bot.channels.web.texts import direction, words
from bot.conversation.guard import TOO_MANY_MESSAGE
from bot.conversation.limits import is_quick_exit
from bot.conversation.receiver import Receiver
from bot.engine import Msg
from bot.errors import describe
from bot.outbox.delivery import Outbox
from storage import repo
from storage.models import BlockedUser, Conversation

if TYPE_CHECKING:
    from bot.app.compose import Core

CHANNEL = "web"
DAY = 24 * 3600.0
log = logging.getLogger("accueil.web.chat")


class WebChat:
    def __init__(
        self,
        core: Core,
        outbox: Outbox,
        *,
        proof_bits: int = BITS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.outbox = outbox
        self.settings = core.settings.web
        self.catalogs = core.content.catalogs
        self.sessions = Sessions(monotonic)
        self.sender = WebSender(self.sessions)
        outbox.route(CHANNEL, self.sender)
        self.receiver = Receiver.with_limits(core.service, core.sessions, outbox, core.settings.limits)
        self.addresses = AddressLimits(core.keys, core.settings.limits, monotonic)
        self.proof = ProofOfWork(proof_bits)
        #: The address pseudonym each person (their user pseudonym) last came from, and when (memory only).
        self._came_from: dict[str, tuple[str, float]] = {}
        #: Addresses of people the operators blocked (`accueil block CASE`): new sessions there are ignored.
        self.blocked_addresses: set[str] = set()
        self._waking: set[asyncio.Task[None]] = set()

    def app(self) -> web.Application:
        return make_app(self)

    def housekeeping(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Floods recorded, idle sessions and expired resume codes forgotten, until `stop` is set.
        (The shared outbox's retry loop belongs to whoever built the outbox.)"""
        return [asyncio.create_task(self.receiver.run(stop)), asyncio.create_task(self._tidy(stop))]

    async def close(self) -> None:
        await self.receiver.drain(5.0)
        self.sessions.close_all()

    async def _tidy(self, stop: asyncio.Event, interval: float = 30.0) -> None:
        while not stop.is_set():
            try:
                self.sessions.expire()
                self.addresses.tidy()
                await self.refresh_blocked()
                async with self.core.sessions.begin() as db:
                    await resume.forget_expired(db, self.core.clock())
            except Exception as exc:  # the loop must outlive one bad round
                log.warning("web chat housekeeping failed (%s); retrying", describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def refresh_blocked(self) -> None:
        """Learn which addresses blocked people came from (the block itself is written by `accueil block`)."""
        async with self.core.sessions() as db:
            blocked = await db.execute(select(BlockedUser.user_ref).where(BlockedUser.channel == CHANNEL))
            refs = set(blocked.scalars().all())
        now = self.sessions.monotonic()
        for user_ref, (_, at) in list(self._came_from.items()):
            if now - at > DAY:
                del self._came_from[user_ref]
        # Computed afresh each time: `accueil unblock` frees the address too.
        self.blocked_addresses = {address for ref, (address, _) in self._came_from.items() if ref in refs}

    def _note_address(self, session: WebSession) -> None:
        user_ref = self.core.keys.pseudonym(CHANNEL, session.chat)
        self._came_from[user_ref] = (session.address, self.sessions.monotonic())

    # --- what the page asks for ----------------------------------------------------------

    def page_words(self, language: str | None) -> dict[str, Any]:
        known = language if language in self.catalogs else None
        return {
            "lang": language or self.core.settings.default_language,
            "dir": direction(language),
            "words": {**words(language), "exit": self.catalogs.render(known, Msg("common.exit"))},
        }

    async def start(self, address: str, previous: str | None, language_hint: str | None) -> WebSession:
        """A new session (the page was loaded or reloaded): the previous one is forgotten, the intake begins."""
        ref = self.addresses.pseudonym(address)
        if not self.addresses.allow_request(ref):
            raise Refusal(429, "Too many requests from your connection. Please wait a minute and reload.")
        old = self.sessions.get(previous)
        if old is not None:
            self.sessions.close(old)
        session = self.sessions.open(ref)
        if ref in self.blocked_addresses:
            session.blocked = True  # acknowledged and ignored, as on Telegram
            return session
        self._note_address(session)
        await self._receive(session, engine.Command("start"), language_hint)
        return session

    async def say(self, session: WebSession, event: engine.Event) -> None:
        if session.blocked:
            return
        if not is_quick_exit(event) and not self.addresses.allow_request(session.address):
            raise Refusal(429, "Too many messages from your connection. Please wait a minute.")
        if not session.counted:
            if not self.addresses.open_conversation(session.address):
                text = self.catalogs.render(session.language, Msg(TOO_MANY_MESSAGE))
                session.push({"type": "message", "id": self.sessions.new_ref(), "text": text, "buttons": []})
                raise Refusal(429, text)
            session.counted = True
        await self._receive(session, event)

    async def quick_exit(self, session: WebSession) -> None:
        """The page is gone already: the conversation is ended and kept, marked quick exit, as on Telegram."""
        self.sessions.close(session, exited=True)
        exit_ = Inbound(channel=CHANNEL, user=session.chat, chat=session.chat, event=engine.Command("exit"))
        await self.receiver.receive(exit_)

    async def resume(self, session: WebSession, code: str) -> None:
        if session.resume_tries >= resume.TRIES or not self.addresses.allow_request(session.address):
            raise Refusal(429, "Too many tries. Please wait a while, then reload the page.")
        now = self.core.clock()
        async with self.core.sessions.begin() as db:
            chat = await resume.redeem(db, self.core.keys, code, now)
        if chat is None:
            session.resume_tries += 1
            raise Refusal(400, words(session.language)["bad_code"])
        session.push({"type": "erase"})  # the new conversation begun by this page is left behind
        session.push({"type": "resumed"})
        self.sessions.attach(session, chat)
        self._note_address(session)
        session.counted = session.resume_offered = True
        await self.wake(session)

    async def wake(self, session: WebSession) -> None:
        """The page is back (or resumed): what waited in the outbox for it is delivered now."""
        session.missed = False
        async with self.core.sessions.begin() as db:
            user_ref = self.core.keys.pseudonym(CHANNEL, session.chat)
            conversation = await repo.latest_conversation(db, CHANNEL, user_ref)
            if conversation is None:
                return
            await resume.due_now(db, conversation.id, self.core.clock())
            conversation_id, language = conversation.id, conversation.language
        self._language(session, language)
        await self.outbox.flush(conversation_id)

    async def _wake_quietly(self, session: WebSession) -> None:
        try:
            await self.wake(session)
        except Exception as exc:  # the outbox's own retry delivers it later
            session.missed = True
            log.warning("waking a page's waiting messages failed (%s)", describe(exc))

    def back(self, session: WebSession) -> None:
        """A page asks again after its messages were made to wait: wake them (in the background)."""
        if not session.missed:
            return
        session.missed = False
        task = asyncio.create_task(self._wake_quietly(session))
        self._waking.add(task)
        task.add_done_callback(self._waking.discard)

    # --- inside ------------------------------------------------------------------------

    async def _receive(self, session: WebSession, event: engine.Event, hint: str | None = None) -> Outcome:
        inbound = Inbound(channel=CHANNEL, user=session.chat, chat=session.chat, event=event, language_hint=hint)
        outcome = await self.receiver.receive(inbound)
        if outcome.toast:
            session.push({"type": "toast", "text": outcome.toast})
        if outcome.conversation_id is None:
            return outcome
        async with self.core.sessions() as db:
            conversation = await db.get(Conversation, outcome.conversation_id)
            language = None if conversation is None else conversation.language
            status = None if conversation is None else conversation.status
        self._language(session, language)
        if status != "intake" and not session.resume_offered and not is_quick_exit(event):
            await self._offer_code(session, outcome.conversation_id)
        return outcome

    def _language(self, session: WebSession, language: str | None) -> None:
        if language is not None and language != session.language:
            session.language = language
            session.push({"type": "language", **self.page_words(language)})

    async def _offer_code(self, session: WebSession, conversation_id: int) -> None:
        """At the end of the intake, once: a code to come back with (after what the intake said last)."""
        session.resume_offered = True
        async with self.core.sessions.begin() as db:
            code = await resume.offer(db, self.core.keys, session.chat, self.core.clock())
        await self.outbox.flush(conversation_id)
        session.push({"type": "resume", "code": code})
