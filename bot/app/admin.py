"""The operator's and caseworkers' commands: cases, transcripts, purge, blocks, parked updates,
messages set aside (the keys commands are in `bot.app.keys`).

Each function works on a database engine it is given and returns what to print;
errors are `AccueilError`s with one actionable line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.keys import keys_revoke as keys_revoke  # noqa: PLC0414 (re-exported)
from bot.conversation.parking import Parking
from bot.conversation.service import ConversationService
from bot.errors import ConfigError, describe
from bot.handoff import Handoff
from bot.handoff.operator import is_open
from bot.outbox import set_aside
from bot.transcript import heads, keyfiles
from bot.transcript.writer import Entry, TranscriptWriter, find_case, read_transcript
from storage import db
from storage import repo as repo_conversations
from storage import safety as safety_store
from storage import transcripts as repo
from storage.crypto import ServerKey
from storage.keystore import keystore_of
from storage.models import Conversation, Staff

Sessions = async_sessionmaker[AsyncSession]
#: What the transcript of an intake abandoned for ACCUEIL_INTAKE_EXPIRY_HOURS records.
ABANDONED = "intake abandoned"


async def cases_list(sessions: Sessions) -> str:
    async with sessions() as session:
        found = await repo.cases(session)
    if not found:
        return "no case"
    lines = [f"{'case':<10}  {'started':<16}  {'channel':<8}  {'language':<8}  {'status':<8}  urgency"]
    for case in found:
        urgency = "URGENT" if case.urgent else "-"
        lines.append(
            f"{case.public_id:<10}  {case.created_at:%Y-%m-%d %H:%M}  {case.channel:<8}  {case.language or '-':<8}  "
            f"{case.status:<8}  {urgency}"
        )
    return "\n".join(lines)


async def transcript_entries(sessions: Sessions, case: str, key_file: Path) -> list[Entry]:
    key = keyfiles.read_private(key_file)
    async with sessions() as session:
        return await read_transcript(session, case, key)


async def transcript_checked(
    sessions: Sessions, case: str, key_file: Path, keys: ServerKey | None
) -> tuple[list[Entry], list[str]]:
    """The entries, and one line per problem with where the transcript ends: its head's MAC under the
    server key (when `keys` is given), and the newest head this key file saw of the case (KEYFILE.heads)."""
    key = keyfiles.read_private(key_file)
    chain: list[bytes] = []
    async with sessions() as session:
        entries = await read_transcript(session, case, key, chain)
        conversation = await find_case(session, case)
        state = await repo.transcript(session, conversation.id)
    problems = []
    if keys is not None and state is not None:
        problems.append(heads.server_problem(keys, conversation.public_id, state))
    problems.append(heads.reader_problem(key_file, conversation.public_id, chain))
    return entries, [line for line in problems if line is not None]


def render_text(case: str, entries: list[Entry]) -> str:
    lines = [f"Transcript of case {case}", ""]
    for entry in entries:
        lines.extend(_lines(entry))
    return "\n".join(lines)


def render_markdown(case: str, entries: list[Entry]) -> str:
    lines = [f"# Transcript of case {case}", "", "| when | who | original | translation |", "|---|---|---|---|"]
    for entry in entries:
        original = _cell(_original(entry))
        translated = _cell(entry.translation or "")
        if entry.translation and entry.machine_translated:
            translated += " *(machine translation)*"
        lines.append(f"| {entry.at[:19]} | {entry.who} | {original} | {translated} |")
    return "\n".join(lines) + "\n"


def render_json(case: str, entries: list[Entry]) -> str:
    return json.dumps({"case": case, "entries": [vars(e) for e in entries]}, ensure_ascii=False, indent=2) + "\n"


def _original(entry: Entry) -> str:
    if entry.kind == "answers":
        return "; ".join(f"{k}: {_answer(v)}" for k, v in (entry.answer or {}).items())
    under = f"\n{entry.caption}" if entry.caption else ""  # the words written under a file
    if entry.data is not None:  # a file: its content is in the JSON export
        size = len(entry.data) * 3 // 4
        return f"{entry.text}: {entry.name} ({entry.mime or 'unknown type'}, about {size:,} bytes){under}"
    if under:
        return f"{entry.text}:{under}"
    return (entry.text or "") if entry.by is None else f"{entry.by}: {entry.text or ''}"


def _answer(value: object) -> str:
    if value is None:
        return "(skipped)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _lines(entry: Entry) -> list[str]:
    head = f"[{entry.at[:19].replace('T', ' ')}] {entry.who:<6}"
    body = _original(entry)
    if entry.kind not in ("message", "answer"):
        body = f"({entry.kind}) {body}"
    lines = [
        f"{head} {line}" if i == 0 else f"{' ' * len(head)} {line}" for i, line in enumerate(body.splitlines() or [""])
    ]
    if entry.translation:
        mark = " [machine translation]" if entry.machine_translated else ""
        lines.append(f"{' ' * len(head)} → {entry.translation}{mark}")
    return lines


async def purge_case(sessions: Sessions, case: str) -> str:
    async with sessions.begin() as session:
        conversation = await find_case(session, case)
        await _purge(session, conversation)
    if not await _erase_history(sessions):
        return f"case {conversation.public_id} destroyed (the database's write-ahead log was busy: purge again later)"
    return f"case {conversation.public_id} destroyed"


async def purge_older_than(sessions: Sessions, days: int, now: Callable[[], datetime]) -> int:
    """Destroy every case without activity for `days` days; returns how many."""
    before = now() - timedelta(days=days)
    async with sessions.begin() as session:
        stale = await repo.stale_cases(session, before)
        for conversation in stale:
            await _purge(session, conversation)
    if stale:
        await _erase_history(sessions)
    return len(stale)


async def _purge(session: AsyncSession, conversation: Conversation) -> None:
    """The case's shred key first (crypto-shredding: no wrap of its keys opens any more), then its rows."""
    keystore_of(session).destroy(conversation.public_id)
    await repo.purge(session, conversation)


async def _erase_history(sessions: Sessions) -> bool:
    async with sessions() as session:
        return await repo.erase_history(session)


async def block_case(sessions: Sessions, case: str, now: datetime) -> str:
    """Ignore from now on whoever wrote in `case` (named by the case: their Telegram id is never shown)."""
    async with sessions.begin() as session:
        conversation = await find_case(session, case)
        if not await safety_store.block(session, conversation, now):
            return f"the person who wrote in case {conversation.public_id} was already blocked"
    return (
        f"the person who wrote in case {conversation.public_id} is blocked: their messages are ignored "
        f"and not stored (`accueil unblock {conversation.public_id}` undoes it)"
    )


async def unblock_case(sessions: Sessions, case: str) -> str:
    async with sessions.begin() as session:
        conversation = await find_case(session, case)
        if not await safety_store.unblock(session, conversation):
            return f"the person who wrote in case {conversation.public_id} was not blocked"
    return f"the person who wrote in case {conversation.public_id} is unblocked: the bot answers them again"


async def parked_list(sessions: Sessions) -> str:
    """Updates no handler could apply, kept sealed: when, which case, what went wrong (never their content)."""
    async with sessions() as session:
        found = await safety_store.parked(session)
    if not found:
        return "no parked update"
    lines = [f"{'ref':<10}  {'parked':<16}  {'case':<10}  {'attempts':>8}  error"]
    for row in found:
        lines.append(
            f"{row.ref:<10}  {row.parked_at:%Y-%m-%d %H:%M}  {row.public_id or '-':<10}  {row.attempts:>8}  {row.error}"
        )
    return "\n".join(lines)


async def parked_replay(sessions: Sessions, service: ConversationService, refs: list[str]) -> str:
    """Apply parked updates again (all, or those named), each in its own transaction; those that
    still fail stay parked. Replies are queued: the running bot sends them."""
    async with sessions() as session:
        found = await safety_store.parked(session, refs)
    missing = {ref.upper() for ref in refs} - {row.ref for row in found}
    if missing:
        raise ConfigError(f"no parked update {', '.join(sorted(missing))}; `accueil parked list` shows them")
    if not found:
        return "no parked update"
    parking = Parking(service.keys, service.clock)
    lines = []
    for row in found:
        try:
            inbound = parking.open(row)
            async with sessions.begin() as session:
                outcome = await service.handle(session, inbound)
                await safety_store.unpark(session, row.id)
        except Exception as exc:  # stays parked; the type and place only, never the content
            lines.append(f"{row.ref}: still fails ({describe(exc)}); kept")
            continue
        done = "already applied" if outcome.duplicate else "replayed"
        lines.append(f"{row.ref}: {done}" + (f" (case {row.public_id})" if row.public_id else ""))
    return "\n".join(lines)


async def outbox_list(sessions: Sessions) -> str:
    """Messages the Bot API refused for good, set aside: id, case, kind, to whom, why (never their text)."""
    return await set_aside.listing(sessions)


async def outbox_replay(sessions: Sessions, ids: list[int], now: datetime) -> str:
    """Put messages set aside (all, or those named) back in their queues; the running bot sends them."""
    return await set_aside.replay(sessions, ids, now)


# --- the operator's hold on cases, and short server-readable windows -----------------------------


async def _caseworker(session: AsyncSession, staff_id: int) -> Staff:
    member = await session.get(Staff, staff_id)
    if member is None:
        raise ConfigError(f"there is no staff member {staff_id}; see `accueil staff list`")
    if member.removed_at is not None:
        raise ConfigError(f"staff member {staff_id} ({member.name}) was removed; see `accueil staff list`")
    if member.role != "caseworker":
        raise ConfigError(f"staff member {staff_id} ({member.name}) is an {member.role}: a case goes to a caseworker")
    return member


async def _open_case(session: AsyncSession, case: str) -> Conversation:
    conversation = await find_case(session, case)
    if not is_open(conversation):
        state = "closed" if conversation.case_status == "closed" else "not handed to the staff"
        raise ConfigError(f"case {conversation.public_id} is {state}; `accueil cases list` shows the open ones")
    return conversation


async def cases_reassign(sessions: Sessions, handoff: Handoff, case: str, staff_id: int, now: datetime) -> str:
    """`accueil cases reassign CASE --to STAFF_ID`: the case goes to that caseworker."""
    async with sessions.begin() as session:
        conversation = await _open_case(session, case)
        member = await _caseworker(session, staff_id)
        if conversation.caseworker_id == member.id:
            return f"case {conversation.public_id} is already with {member.name}"
        await handoff.operator.reassign(session, conversation, member, now)
    return (
        f"case {conversation.public_id} reassigned to {member.name} (staff id {member.id}); "
        "the running bot tells them, and whoever had it"
    )


async def cases_close(sessions: Sessions, handoff: Handoff, case: str, now: datetime) -> str:
    """`accueil cases close CASE`: as /close does; the person is told and is back with the bot."""
    async with sessions.begin() as session:
        conversation = await _open_case(session, case)
        await handoff.operator.close(session, conversation, now)
    return f"case {conversation.public_id} closed; the running bot tells the person and whoever had it"


async def expire_intakes(sessions: Sessions, keys: ServerKey, hours: int, now: datetime) -> int:
    """Destroy the working state of intakes abandoned for `hours`; returns how many.

    The transcript records "intake abandoned"; a person who writes again starts afresh."""
    writer = TranscriptWriter(keys)
    async with sessions.begin() as session:
        abandoned = await repo_conversations.abandoned_intakes(session, now - timedelta(hours=hours))
        for conversation in abandoned:
            conversation.state_sealed = None
            conversation.status = "ended"
            conversation.updated_at = now
            await repo_conversations.drop_pending(session, conversation.id)
            await writer.append(session, conversation, [Entry("system", now.isoformat(), "event", text=ABANDONED)])
    if abandoned:
        async with sessions() as session:  # the older versions of the working state leave the WAL too
            await db.checkpoint_wal(session)
    return len(abandoned)
