"""The operator's staff commands: who may claim cases and talk to the people writing.

Staff are recognised by the keyed pseudonym of their Telegram id, as victims
are; their private chat id is stored sealed under the server key, for the bot
to write to them. They must open a private chat with the bot once (/start)
before it can write to them: Telegram does not let a bot write first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.console import invites
from bot.errors import ConfigError
from bot.handoff import Handoff
from storage import db, repo
from storage.crypto import ServerKey
from storage.models import Staff
from storage.sealed import Sealed

CHANNEL = "telegram"
ROLES = ("caseworker", "interpreter")

Sessions = async_sessionmaker[AsyncSession]


def _languages(text: str | None) -> str:
    codes = [code.strip().lower() for code in (text or "").split(",") if code.strip()]
    for code in codes:
        if not code.isascii() or not code.replace("-", "").isalpha() or len(code) > 8:
            raise ConfigError(f"--languages: {code!r} is not a language code (write e.g. ar,ti,fa)")
    return ",".join(dict.fromkeys(codes))


async def staff_add(
    sessions: Sessions, keys: ServerKey, telegram_id: int, name: str, role: str, languages: str | None, now: datetime
) -> str:
    if role not in ROLES:
        raise ConfigError(f"--role must be caseworker or interpreter (got {role!r})")
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ConfigError("--name must be 1 to 100 characters: the name colleagues know them by")
    codes = _languages(languages)
    ref = keys.pseudonym(CHANNEL, str(telegram_id))
    async with sessions.begin() as session:
        member = await repo.find_staff(session, CHANNEL, ref)
        verb = "updated"
        if member is None:
            verb = "added"
            member = Staff(channel=CHANNEL, user_ref=ref, chat_sealed=b"", name=name, role=role, created_at=now)
            session.add(member)
            await session.flush()
        member.name, member.role, member.languages = name, role, codes
        member.chat_sealed = keys.seal(str(telegram_id).encode(), Sealed.STAFF_CHAT.of(member.id))
        staff_id = member.id
    return (
        f"{verb} {role} {name} (staff id {staff_id}{', languages ' + codes if codes else ''}).\n"
        "They must open a private chat with the bot and press Start once, so that the bot can write to them."
    )


async def staff_list(sessions: Sessions) -> str:
    async with sessions() as session:
        members = await repo.active_staff(session)
    if not members:
        return "no staff registered: accueil staff add --telegram-id N --name NAME --role caseworker"
    lines = [f"{'id':>4}  {'role':<11}  {'languages':<12}  {'since':<10}  name"]
    lines.extend(
        f"{m.id:>4}  {m.role:<11}  {m.languages or '-':<12}  {m.created_at:%Y-%m-%d}  {m.name}" for m in members
    )
    return "\n".join(lines)


async def staff_remove(sessions: Sessions, handoff: Handoff, staff_id: int, now: datetime) -> str:
    """Removal takes effect at once: nothing more reaches them, their cases go back to the queue."""
    async with sessions.begin() as session:
        member = await session.get(Staff, staff_id)
        if member is None or member.removed_at is not None:
            raise ConfigError(f"there is no staff member {staff_id}; see `accueil staff list`")
        removal = await handoff.operator.remove(session, member, now)
    lines = [
        f"removed {member.name}: they can no longer use the staff commands, and nothing more is sent to them"
        + (f" ({removal.dropped} queued message(s) to them dropped)." if removal.dropped else ".")
    ]
    if removal.requeued:
        lines.append(f"Back in the queue, announced again to the staff group: {', '.join(removal.requeued)}.")
    if removal.uninterpreted:
        lines.append(f"Now without an interpreter (their caseworker was told): {', '.join(removal.uninterpreted)}.")
    return "\n".join(lines)


async def interpreters_by_language(database_url: str) -> dict[str, int]:
    """How many registered interpreters work in each language (for `accueil languages`)."""
    engine = db.make_engine(database_url)
    try:
        await db.upgrade(engine)
        async with db.session_factory(engine)() as session:
            members = await repo.active_staff(session, "interpreter")
    finally:
        await engine.dispose()
    counts: dict[str, int] = {}
    for member in members:
        for code in filter(None, member.languages.split(",")):
            counts[code] = counts.get(code, 0) + 1
    return counts


async def staff_invite(
    sessions: Sessions, keys: ServerKey, staff_id: int, public_url: str, now: datetime
) -> tuple[str, str, str | None]:
    """A one-time console enrolment link for a staff member: (their name, the link, their private chat
    with the bot, when the bot can write to them)."""
    async with sessions.begin() as session:
        member = await session.get(Staff, staff_id)
        if member is None or member.removed_at is not None:
            raise ConfigError(f"there is no staff member {staff_id}; see `accueil staff list`")
        token = await invites.create(session, member.id, now)
        chat = keys.open(member.chat_sealed, Sealed.STAFF_CHAT.of(member.id)).decode() if member.chat_sealed else None
        name = member.name
    return name, invites.enrol_link(public_url, token), chat


def invite_message(name: str, link: str) -> str:
    """What the staff member reads in their private chat with the bot."""
    return (
        f"Bonjour {name}, voici votre lien d'inscription à la console des dossiers, valable 24 heures et "
        f"une seule fois :\n{link}\nOuvrez-le sur l'appareil où vous enregistrerez votre clé d'accès (passkey)."
    )
