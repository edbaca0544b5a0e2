"""The queue as the console shows it, and its live updates (Server-Sent Events).

A caseworker sees every waiting case (urgent first, then the longest waiting) and the cases they
hold; an interpreter sees only the open cases they are invited to. Each line carries what routes a
case and nothing anyone said: language (and whether its catalog was reviewed by a native speaker),
waiting time, needs, whether an interpreter is needed, the channel.

The live stream reads the database every second (the bot may run in another process) and sends the
queue again when it changed, and each open case's transcript length when it grew, so a page shows a
new entry within two seconds of its being written. A page without EventSource polls `/api/queue`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handoff.hours import OfficeHours
from bot.language.i18n import Catalogs
from storage import repo
from storage.models import Conversation, Staff, Transcript


def catalog_status(catalogs: Catalogs, language: str | None) -> str:
    """reviewed | draft (a catalog no native speaker reviewed yet) | machine (translated on the fly) | none."""
    if language is None:
        return "none"
    if language in catalogs:
        return catalogs.get(language).review
    return "machine" if catalogs.has_machine(language) else "none"


def line(conversation: Conversation, catalogs: Catalogs, member: Staff, now: datetime) -> dict[str, Any]:
    since = conversation.queued_at
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return {
        "case": conversation.public_id,
        "status": conversation.case_status,
        "urgent": conversation.urgent,
        "language": conversation.language,
        "catalog": catalog_status(catalogs, conversation.language),
        "waiting_seconds": int((now - since).total_seconds()) if since is not None else None,
        "needs": (conversation.needs or "").split(",") if conversation.needs else [],
        "interpreter_needed": conversation.interpreter_needed,
        "interpreter": conversation.interpreter_id is not None,
        "channel": conversation.channel,
        "yours": conversation.caseworker_id == member.id,
    }


async def queue_for(
    session: AsyncSession, member: Staff, catalogs: Catalogs, hours: OfficeHours, now: datetime
) -> dict[str, Any]:
    cases = await repo.open_cases(session)
    if member.role == "caseworker":
        waiting = [c for c in cases if c.case_status == "queued"]
        mine = [c for c in cases if c.caseworker_id == member.id and c.case_status != "queued"]
    else:
        waiting, mine = [], [c for c in cases if c.interpreter_id == member.id and c.case_status != "queued"]
    opens = hours.next_open(now) if not hours.is_open(now) else None
    return {
        "waiting": [line(c, catalogs, member, now) for c in waiting],
        "mine": [line(c, catalogs, member, now) for c in mine],
        "office": {"open": hours.is_open(now), "next_open": opens.isoformat() if opens else None},
    }


async def lengths(session: AsyncSession, member: Staff) -> dict[str, int]:
    """How many entries each case the member may read has: a page compares and fetches the new ones."""
    column = Conversation.caseworker_id if member.role == "caseworker" else Conversation.interpreter_id
    rows = await session.execute(
        select(Conversation.public_id, Transcript.next_seq)
        .join(Transcript, Transcript.conversation_id == Conversation.id)
        .where(column == member.id, Conversation.case_status.in_(("claimed", "active")))
    )
    return {case: seq for case, seq in rows.all()}


def event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _stable(queue: dict[str, Any]) -> str:
    """The queue without its clocks: a change of this is worth sending."""
    strip = [{k: v for k, v in row.items() if k != "waiting_seconds"} for row in queue["waiting"] + queue["mine"]]
    return json.dumps([strip, queue["office"]["open"]], sort_keys=True)


async def changes(
    read: Callable[[], Any],
    alive: Callable[[], Any],
    *,
    interval: float = 1.0,
    heartbeat: float = 15.0,
) -> Any:
    """Yield SSE chunks: the queue and case lengths each time they change, a comment now and then to
    keep proxies from closing the stream, and `end` when the session ends (signed out, removed, idle)."""
    last_queue, quiet = "", 0.0
    last_lengths: dict[str, int] = {}
    while True:
        if not await alive():
            yield event("end", {})
            return
        queue, sizes = await read()
        stable = _stable(queue)
        if stable != last_queue:
            last_queue = stable
            quiet = 0.0
            yield event("queue", queue)
        for case, size in sizes.items():
            if last_lengths.get(case) != size:
                quiet = 0.0
                yield event("case", {"case": case, "entries": size})
        last_lengths = sizes
        if quiet >= heartbeat:
            quiet = 0.0
            yield b": still here\n\n"
        await asyncio.sleep(interval)
        quiet += interval
