"""Applying the engine's effects: one handler per effect type, looked up in a table.

The engine returns effects as values (`bot.engine`); `EffectApplier.apply` runs
each through its handler inside the update's session: what to say is rendered
in the person's language and queued in the outbox, what happened goes into the
transcript, and the conversation row takes the new state (sealed under the
server key while the intake runs, gone once it is over).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import engine
from bot.channels.base import ERASABLE_FOR, OutItem, button_data
from bot.engine import Effect, Msg, State
from bot.engine.effects import Button
from bot.handoff import Handoff
from bot.language.i18n import Catalogs
from bot.language.machine_catalogs import NOTICE
from bot.outbox.queue import Postbox
from bot.transcript.writer import Entry, TranscriptWriter
from storage import repo
from storage.crypto import ServerKey
from storage.models import Conversation
from storage.sealed import Sealed

log = logging.getLogger("accueil.conversation")

SELECTED = "✓ "
MT_NOTICE_GIVEN = "mt_notice"  # a mark: the person was told the prompts are machine-translated


@dataclass
class Turn:
    """What applying one update's effects builds up."""

    session: AsyncSession
    conversation: Conversation
    state: State
    language: str | None
    entries: list[Entry]
    now: datetime
    translations: dict[str, str] = field(default_factory=dict)
    toast: str | None = None

    @property
    def at(self) -> str:
        return self.now.isoformat()


Handler = Callable[[Turn, Any], Awaitable[None]]


class EffectApplier:
    def __init__(
        self,
        catalogs: Catalogs,
        keys: ServerKey,
        postbox: Postbox,
        transcript: TranscriptWriter,
        handoff: Handoff | None,
    ) -> None:
        self.catalogs = catalogs
        self.keys = keys
        self.postbox = postbox
        self.transcript = transcript
        self.handoff = handoff
        self.handlers: dict[type[Any], Handler] = {
            engine.LanguageChanged: self._language_changed,
            engine.Marked: self._marked,
            engine.HandedOff: self._handed_off,
            engine.Toast: self._toast,
            engine.Discretion: self._discretion,
            engine.QuickExit: self._quick_exit,
            engine.Say: self._say,
            engine.Ask: self._ask,
            engine.Reselect: self._reselect,
            engine.Answered: self._answered,
        }

    async def apply(self, turn: Turn, effects: Sequence[Effect]) -> str | None:
        """Apply `effects` in order, then record what was said and keep the new state; returns a toast."""
        for effect in effects:
            handler = self.handlers.get(type(effect))
            if handler is not None:
                await handler(turn, effect)
        await self._finish(turn)
        return turn.toast

    async def _finish(self, turn: Turn) -> None:
        conversation, state = turn.conversation, turn.state
        if state.status != "intake" and state.answers:
            # The intake is over: its answers go into the transcript, out of the working state.
            turn.entries.append(Entry("system", turn.at, "answers", answer=state.to_dict()["answers"]))
            state = replace(state, answers={}, selection=())
        await self.transcript.append(turn.session, conversation, turn.entries)
        conversation.language = turn.language
        conversation.status = state.status
        conversation.updated_at = turn.now
        if state.status == "ended":
            conversation.state_sealed = None
        else:
            working = json.dumps({**state.to_dict(), "mt": turn.translations}).encode()
            conversation.state_sealed = self.keys.seal(working, Sealed.STATE.of(conversation.public_id))

    async def _queue(self, turn: Turn, item: OutItem, *, turn_number: int | None = None) -> OutItem:
        return await self.postbox.put(
            turn.session, turn.conversation, item, turn.now, language=turn.language, turn=turn_number
        )

    async def _language_changed(self, turn: Turn, effect: engine.LanguageChanged) -> None:
        turn.language = effect.language
        if self.catalogs.has_machine(effect.language) and MT_NOTICE_GIVEN not in turn.state.marks:
            # Once, before the first machine-translated prompt: say so, in that language.
            turn.state = replace(turn.state, marks=turn.state.marks | {MT_NOTICE_GIVEN})
            notice = OutItem("message", self.catalogs.render(effect.language, Msg(NOTICE)))
            queued = await self._queue(turn, notice)
            turn.entries.append(Entry("bot", turn.at, "message", text=queued.text, language=turn.language))

    async def _marked(self, turn: Turn, effect: engine.Marked) -> None:
        if effect.mark == "urgent":
            turn.conversation.urgent = True
        turn.entries.append(Entry("system", turn.at, "event", text=f"marked {effect.mark}"))
        log.info("case marked", extra={"case": turn.conversation.public_id, "mark": effect.mark})

    async def _handed_off(self, turn: Turn, effect: engine.HandedOff) -> None:
        conversation = turn.conversation
        turn.entries.append(Entry("system", turn.at, "event", text=f"handed off: {effect.reason}"))
        log.info("handed off", extra={"case": conversation.public_id, "reason": effect.reason})
        conversation.language = turn.language
        if self.handoff is not None and conversation.case_status is None:
            # The handoff records what it tells the person itself: what came before goes in first.
            await self._record(turn)
            turn.entries.extend(
                await self.handoff.queue(
                    turn.session, conversation, turn.state, turn.translations, effect.reason, turn.now
                )
            )

    async def _record(self, turn: Turn) -> None:
        """Write what the turn has built up so far into the transcript, keeping the order of events."""
        await self.transcript.append(turn.session, turn.conversation, turn.entries)
        turn.entries.clear()

    async def _toast(self, turn: Turn, effect: engine.Toast) -> None:
        turn.toast = self.catalogs.render(turn.language, effect.text)

    async def _discretion(self, turn: Turn, effect: engine.Discretion) -> None:
        turn.conversation.discreet = effect.on
        turn.entries.append(Entry("system", turn.at, "event", text=f"discreet mode {'on' if effect.on else 'off'}"))

    async def _quick_exit(self, turn: Turn, effect: engine.QuickExit) -> None:
        await self.erase(turn.session, turn.conversation, turn.now)
        if self.handoff is not None:
            await self.handoff.victim_left(turn.session, turn.conversation, turn.now)
        turn.entries.append(Entry("system", turn.at, "event", text="the victim used the quick exit"))

    async def _say(self, turn: Turn, effect: engine.Say) -> None:
        queued = await self._queue(turn, OutItem("message", self.catalogs.render(turn.language, effect.text)))
        turn.entries.append(Entry("bot", turn.at, "message", text=queued.text, language=turn.language))

    async def _ask(self, turn: Turn, effect: engine.Ask) -> None:
        item = OutItem(
            "message",
            self.catalogs.render(turn.language, effect.text),
            buttons=self.keyboard(effect.buttons, effect.turn, turn.language),
        )
        queued = await self._queue(turn, item, turn_number=effect.turn)
        turn.entries.append(Entry("bot", turn.at, "message", text=queued.text, language=turn.language))

    async def _reselect(self, turn: Turn, effect: engine.Reselect) -> None:
        item = OutItem("reselect", buttons=self.keyboard(effect.buttons, effect.turn, turn.language))
        await self._queue(turn, item, turn_number=effect.turn)

    async def _answered(self, turn: Turn, effect: engine.Answered) -> None:
        render = self.catalogs.render
        item = OutItem(
            "close",
            render(turn.language, effect.question),
            echo=", ".join(render(turn.language, label) for label in effect.echo),
        )
        queued = await self._queue(turn, item, turn_number=effect.turn)
        if queued.echo:
            turn.entries.append(Entry("victim", turn.at, "answer", text=queued.echo, language=turn.language))

    async def erase(self, session: AsyncSession, conversation: Conversation, now: datetime) -> None:
        """The quick exit: erase every message the channel lets us erase, queue nothing else."""
        conversation.quick_exit = True
        await session.flush()
        await repo.drop_pending(session, conversation.id)
        refs = await repo.erasable_messages(session, conversation.id, now - ERASABLE_FOR)
        await self.postbox.put(session, conversation, OutItem("erase", refs=list(refs)), now)
        log.info("quick exit", extra={"case": conversation.public_id, "messages": len(refs)})

    def keyboard(self, rows: Sequence[Sequence[Button]], turn: int, language: str | None) -> list[list[list[str]]]:
        return [
            [
                [
                    (SELECTED if button.selected else "") + self.catalogs.render(language, button.label),
                    button_data(turn, button.value),
                ]
                for button in row
            ]
            for row in rows
        ]
