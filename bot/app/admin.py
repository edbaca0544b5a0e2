"""The operator's and caseworkers' commands: keys, cases, transcripts, purge, blocks, parked updates,
messages set aside.

Each function works on a database engine it is given and returns what to print;
errors are `AccueilError`s with one actionable line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.parking import Parking
from bot.conversation.service import ConversationService
from bot.errors import ConfigError, describe
from bot.outbox import set_aside
from bot.transcript import keyfiles
from bot.transcript.writer import Entry, find_case, read_transcript, rewrap
from storage import safety as safety_store
from storage import transcripts as repo
from storage.crypto import RecipientPrivateKey, RecipientPublicKey

Sessions = async_sessionmaker[AsyncSession]


async def keys_init(sessions: Sessions, out: Path, label: str, data_dir: Path, now: datetime) -> str:
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise ConfigError(f"{out} is inside the data directory {data_dir}; keep private keys away from the bot")
    secret = keyfiles.passphrase(confirm=True)
    key = RecipientPrivateKey.generate()
    keyfiles.write_private(out, key, secret)
    public_path = out.with_name(out.name + ".pub")
    keyfiles.write_public(public_path, key.public, label)
    await _register(sessions, key.public, label, now)
    return (
        f"key {key.key_id} ({label}) created\n"
        f"  private key: {out} (encrypted with your passphrase; keep it off the server)\n"
        f"  public key:  {public_path} (registered; new transcripts are readable with this key)"
    )


async def keys_add(sessions: Sessions, public_file: Path, label: str | None, now: datetime) -> str:
    public, file_label = keyfiles.read_public(public_file)
    async with sessions() as session:
        existing = await repo.recipient(session, public.key_id)
    if existing is not None:
        state = "revoked" if existing.revoked_at else "active"
        return f"key {public.key_id} is already registered ({state})"
    await _register(sessions, public, label or file_label or public_file.stem, now)
    return f"key {public.key_id} registered; run `accueil keys rewrap --key FILE` with a current key for past cases"


async def _register(sessions: Sessions, public: RecipientPublicKey, label: str, now: datetime) -> None:
    async with sessions.begin() as session:
        await repo.add_recipient(session, public.key_id, label, public.raw, now)


async def keys_list(sessions: Sessions) -> str:
    async with sessions() as session:
        keys = await repo.all_recipients(session)
    if not keys:
        return "no recipient key is registered: run `accueil keys init --out FILE`"
    lines = [f"{'key id':<16}  {'status':<8}  {'created':<16}  label"]
    for key in keys:
        status = "revoked" if key.revoked_at else "active"
        lines.append(f"{key.key_id:<16}  {status:<8}  {key.created_at:%Y-%m-%d %H:%M}  {key.label}")
    return "\n".join(lines)


async def keys_revoke(sessions: Sessions, key_id: str, now: datetime) -> str:
    async with sessions.begin() as session:
        key = await repo.recipient(session, key_id)
        if key is None:
            raise ConfigError(f"no key {key_id}; `accueil keys list` shows them")
        if key.revoked_at is not None:
            return f"key {key_id} was already revoked"
        others = [k for k in await repo.active_recipients(session) if k.key_id != key_id]
        if not others:
            raise ConfigError(f"{key_id} is the last active key: add another first, or no one could read new cases")
        destroyed = await repo.revoke_recipient(session, key_id, now)
    return f"key {key_id} revoked; {destroyed} wrapped transcript key(s) destroyed"


async def keys_rewrap(sessions: Sessions, key_file: Path) -> str:
    key = keyfiles.read_private(key_file)
    async with sessions.begin() as session:
        added = await rewrap(session, key)
    return f"{added} transcript key(s) wrapped to the other active keys"


async def cases_list(sessions: Sessions) -> str:
    async with sessions() as session:
        found = await repo.cases(session)
    if not found:
        return "no case"
    lines = [f"{'case':<10}  {'started':<16}  {'language':<8}  {'status':<8}  urgency"]
    for case in found:
        urgency = "URGENT" if case.urgent else "-"
        lines.append(
            f"{case.public_id:<10}  {case.created_at:%Y-%m-%d %H:%M}  {case.language or '-':<8}  "
            f"{case.status:<8}  {urgency}"
        )
    return "\n".join(lines)


async def transcript_entries(sessions: Sessions, case: str, key_file: Path) -> list[Entry]:
    key = keyfiles.read_private(key_file)
    async with sessions() as session:
        return await read_transcript(session, case, key)


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
    if entry.data is not None:  # a file: its content is in the JSON export
        size = len(entry.data) * 3 // 4
        return f"{entry.text}: {entry.name} ({entry.mime or 'unknown type'}, about {size:,} bytes)"
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
        await repo.purge(session, conversation.id)
    return f"case {conversation.public_id} destroyed"


async def purge_older_than(sessions: Sessions, days: int, now: Callable[[], datetime]) -> int:
    """Destroy every case without activity for `days` days; returns how many."""
    before = now() - timedelta(days=days)
    async with sessions.begin() as session:
        stale = await repo.stale_cases(session, before)
        for conversation in stale:
            await repo.purge(session, conversation.id)
    return len(stale)


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
