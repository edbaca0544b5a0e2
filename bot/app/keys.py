"""`accueil keys`: the association key, recipient keys and their certificates, revocation, rewrap.

What an association does (README, "Going live: keys"): one person makes the association key once
(`keys init --association`) on a machine that is not the server and keeps it offline; its fingerprint
is pinned on the server (ACCUEIL_ASSOCIATION_KEY). Each caseworker makes their key pair on their own
machine (`keys init --out`), hands over FILE.pub, the association key's holder certifies it (`keys
certify FILE.pub --association-key ASSOCIATION.key`), and the operator registers it (`keys add`).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import ConfigError
from bot.transcript import certificates, keyfiles, revocations
from bot.transcript.epochs import rekey_all
from bot.transcript.writer import rewrap
from storage import transcripts as repo
from storage.crypto import AssociationKey, RecipientPrivateKey, RecipientPublicKey

Sessions = async_sessionmaker[AsyncSession]


def _outside(out: Path, data_dir: Path) -> None:
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise ConfigError(f"{out} is inside the data directory {data_dir}; keep private keys away from the bot")


def association_init(out: Path, label: str, data_dir: Path) -> str:
    """The association's key pair: FILE (private, passphrase) and FILE.pub; nothing goes in the database."""
    _outside(out, data_dir)
    secret = keyfiles.passphrase(confirm=True, prompt="Passphrase for the association key: ")
    key = AssociationKey.generate()
    keyfiles.write_private(out, key, secret)
    fingerprint = certificates.fingerprint(key.public)
    keyfiles.write_association_public(out.with_name(out.name + ".pub"), key, label, fingerprint)
    return (
        f"association key {fingerprint[:16]} ({label}) created\n"
        f"  private key: {out} (keep it offline; it certifies who may read transcripts)\n"
        f"  pin it on the server: {certificates.SETTING}={fingerprint}"
    )


def _certificate(association: Path | None, public: RecipientPublicKey, now: datetime) -> str | None:
    if association is None:
        return None
    key = keyfiles.read_association(association)
    return certificates.certify(key, _association_label(association), public, now)


def _association_label(association: Path) -> str:
    public = association.with_name(association.name + ".pub")
    try:
        return str(json.loads(public.read_text(encoding="utf-8")).get("label", "association"))
    except (OSError, ValueError, AttributeError):
        return "association"


async def keys_init(
    sessions: Sessions, out: Path, label: str, data_dir: Path, now: datetime, association: Path | None = None
) -> str:
    _outside(out, data_dir)
    secret = keyfiles.passphrase(confirm=True)
    key = RecipientPrivateKey.generate()
    certificate = _certificate(association, key.public, now)
    keyfiles.write_private(out, key, secret)
    public_path = out.with_name(out.name + ".pub")
    keyfiles.write_public(public_path, key.public, label, certificate)
    await _register(sessions, key.public, label, now, certificate)
    async with sessions() as session:
        pinned = certificates.pinned_of(session)
    certified = "certified, " if certificate else ""
    made = (
        f"key {key.key_id} ({label}) created\n"
        f"  private key: {out} (encrypted with your passphrase; keep it off the server)\n"
        f"  public key:  {public_path} ({certified}registered; new transcripts are readable with this key)"
    )
    if pinned is not None and certificate is None:
        made += (
            f"\n  not certified: nothing is wrapped to it until `accueil keys certify {public_path} "
            "--association-key ASSOCIATION.key` is run where the association key is kept"
        )
    return made


async def keys_add(
    sessions: Sessions, public_file: Path, label: str | None, now: datetime, association: Path | None = None
) -> str:
    public, file_label = keyfiles.read_public(public_file)
    certificate = _certificate(association, public, now) or keyfiles.public_certificate(public_file)
    async with sessions() as session:
        existing = await repo.recipient(session, public.key_id)
        pinned = certificates.pinned_of(session)
    if existing is not None:
        state = "revoked" if existing.revoked_at else "active"
        return f"key {public.key_id} is already registered ({state})"
    verdict = certificates.check(certificate, public.raw, pinned)
    if pinned is not None and not verdict.ok:
        raise ConfigError(
            f"key {public.key_id} is not registered: {verdict.why}; run `accueil keys certify {public_file} "
            "--association-key ASSOCIATION.key` where the association key is kept, then add it again"
        )
    await _register(sessions, public, label or file_label or public_file.stem, now, certificate)
    return f"key {public.key_id} registered; run `accueil keys rewrap --key FILE` with a current key for past cases"


async def keys_certify(sessions: Sessions, public_file: Path, association: Path, now: datetime) -> str:
    """Sign FILE.pub with the association key; the registered key, if any, gets the certificate too."""
    public, label = keyfiles.read_public(public_file)
    certificate = _certificate(association, public, now)
    assert certificate is not None
    keyfiles.write_public(public_file, public, label, certificate)
    async with sessions.begin() as session:
        registered = await repo.certify_recipient(session, public.key_id, certificate)
    where = "; the registered key is certified too" if registered else "; register it with `accueil keys add`"
    return f"key {public.key_id} ({label}) certified in {public_file}{where}"


async def _register(
    sessions: Sessions, public: RecipientPublicKey, label: str, now: datetime, certificate: str | None
) -> None:
    async with sessions.begin() as session:
        await repo.add_recipient(session, public.key_id, label, public.raw, now, certificate)


async def keys_list(sessions: Sessions) -> str:
    async with sessions() as session:
        keys = await repo.all_recipients(session)
        pinned = certificates.pinned_of(session)
        gone = revocations.revoked(session)
    if not keys:
        return "no recipient key is registered: run `accueil keys init --out FILE`"
    lines = [f"{'key id':<16}  {'status':<8}  {'created':<16}  {'label':<20}  certified by"]
    for key in keys:
        verdict = certificates.check(key.certificate, key.public_key, pinned)
        status = "revoked" if key.revoked_at or key.key_id in gone else "active"
        status = "REFUSED" if status == "active" and pinned is not None and not verdict.ok else status
        by = verdict.by if verdict.ok else f"- ({verdict.why})"
        lines.append(f"{key.key_id:<16}  {status:<8}  {key.created_at:%Y-%m-%d %H:%M}  {key.label:<20}  {by}")
    if pinned is None:
        lines.append(f"warning: no {certificates.SETTING} is pinned: every active key is used, certified or not")
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
        revocations.record(session, key_id)  # outside the database too: clearing the row revives nothing
        destroyed = await repo.revoke_recipient(session, key_id, now)
        rekeyed = await rekey_all(session, now)
    return (
        f"key {key_id} revoked; {destroyed} wrapped transcript key(s) destroyed; "
        f"{rekeyed} case(s) re-keyed: what is written from now on is not readable with it"
    )


async def keys_rewrap(sessions: Sessions, key_file: Path) -> str:
    key = keyfiles.read_private(key_file)
    async with sessions.begin() as session:
        added = await rewrap(session, key)
    return f"{added} transcript key(s) wrapped to the other active keys"
