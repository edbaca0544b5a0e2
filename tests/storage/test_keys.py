"""Recipient keys and the server key, through the `accueil` command and the storage layer."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import admin
from bot.app.compose import Core
from bot.app.settings import Settings
from bot.channels.base import Inbound
from bot.engine import Command, State
from bot.errors import ConfigError, SealError
from storage.crypto import RecipientPrivateKey, ServerKey, load_server_key
from storage.models import Conversation
from testkit.accueil import operator_env, run_accueil
from testkit.fakes import RecordingSender
from testkit.service import press_button, receiver_for

PASSPHRASE = "a long enough passphrase"


def accueil(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    defaults = {"ACCUEIL_DATA_DIR": str(data_dir), "ACCUEIL_KEY_PASSPHRASE": PASSPHRASE}
    return run_accueil(*args, env=operator_env(**{**defaults, **env}))


def test_keys_init_writes_an_encrypted_private_key_and_registers_the_public_one(tmp_path: Path) -> None:
    data_dir, out = tmp_path / "data", tmp_path / "caseworker" / "marie.key"
    made = accueil(data_dir, "keys", "init", "--out", str(out), "--label", "Marie")
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["format"] == "accueil-recipient-key/v1" and doc["kdf"]["name"] == "scrypt"
    assert doc["kdf"]["n"] == 2**17  # memory-hard: 128 MiB
    key = RecipientPrivateKey.from_file_bytes(out.read_bytes(), PASSPHRASE)
    listed = accueil(data_dir, "keys", "list")
    assert key.key_id in listed.stdout and "Marie" in listed.stdout and "active" in listed.stdout
    public = json.loads(out.with_name("marie.key.pub").read_text())
    assert base64.b64decode(public["public"]) == key.public.raw

    again = accueil(data_dir, "keys", "init", "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    short = accueil(data_dir, "keys", "init", "--out", str(tmp_path / "b.key"), ACCUEIL_KEY_PASSPHRASE="short")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    inside = accueil(data_dir, "keys", "init", "--out", str(data_dir / "x.key"))
    assert inside.returncode == 2 and "inside the data directory" in inside.stderr
    no_terminal = accueil(data_dir, "keys", "init", "--out", str(tmp_path / "c.key"), ACCUEIL_KEY_PASSPHRASE="")
    assert no_terminal.returncode == 2 and "ACCUEIL_KEY_PASSPHRASE" in no_terminal.stderr

    added = accueil(tmp_path / "other-data", "keys", "add", str(out.with_name("marie.key.pub")))
    assert added.returncode == 0 and key.key_id in added.stdout
    assert "already registered" in accueil(tmp_path / "other-data", "keys", "add", str(out) + ".pub").stdout


def test_the_bot_refuses_to_start_without_a_recipient_key_or_with_a_private_key_nearby(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    bare = accueil(data_dir, "shell")
    assert bare.returncode == 2 and "no recipient key is registered" in bare.stderr
    assert bare.stderr.count("\n") == 1 and "Traceback" not in bare.stderr

    key_file = tmp_path / "keys" / "a.key"
    assert accueil(data_dir, "keys", "init", "--out", str(key_file)).returncode == 0
    (data_dir / "backup").mkdir()
    stray = data_dir / "backup" / "copy.key"
    stray.write_bytes(key_file.read_bytes())
    refused = accueil(data_dir, "run", ACCUEIL_TELEGRAM_TOKEN="123:abc", ACCUEIL_TELEGRAM_API_BASE="http://127.0.0.1:9")
    assert refused.returncode == 2
    assert f"a recipient private key is in the data directory ({stray})" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_revoking_the_last_active_key_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert accueil(data_dir, "keys", "init", "--out", str(tmp_path / "a.key")).returncode == 0
    key = RecipientPrivateKey.from_file_bytes((tmp_path / "a.key").read_bytes(), PASSPHRASE)
    refused = accueil(data_dir, "keys", "revoke", key.key_id)
    assert refused.returncode == 2 and "last active key" in refused.stderr


def test_the_server_key_file_is_private_and_can_come_from_the_environment(tmp_path: Path) -> None:
    key = load_server_key(tmp_path, None, create=True)
    path = tmp_path / "server.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = key.seal(b"state", "state:ABCD-EFGH")
    assert load_server_key(tmp_path, None, create=False).open(sealed, "state:ABCD-EFGH") == b"state"
    with pytest.raises(SealError):
        key.open(sealed, "state:OTHR-CASE")
    from_env = load_server_key(tmp_path / "elsewhere", base64.b64encode(bytes(32)).decode(), create=False)
    assert from_env.open(ServerKey(bytes(32)).seal(b"x", "c"), "c") == b"x"
    assert not (tmp_path / "elsewhere").exists() and "***" in repr(from_env)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_server_key(tmp_path, None, create=False)
    with pytest.raises(ConfigError, match="ACCUEIL_SERVER_KEY"):
        load_server_key(tmp_path, "not base64!", create=False)


def test_user_ids_are_keyed_pseudonyms() -> None:
    one, other = ServerKey(bytes(32)), ServerKey(bytes([1]) * 32)
    assert one.pseudonym("telegram", "42") == one.pseudonym("telegram", "42")
    assert one.pseudonym("telegram", "42") != other.pseudonym("telegram", "42")
    assert one.pseudonym("telegram", "42") != one.pseudonym("terminal", "42")
    assert "42" not in one.pseudonym("telegram", "42")


async def test_the_working_state_loses_the_answers_at_handoff(core: Core) -> None:
    sender = RecordingSender()
    receiver = receiver_for(core, sender)
    await receiver.receive(Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1"))
    for update, label in enumerate(("English", "Yes", "Yes", "For myself"), start=2):
        await receiver.receive(press_button(sender, label, update))

    async def state() -> State:
        async with core.sessions() as session:
            conversation = (await session.execute(select(Conversation))).scalar_one()
        return core.service._working(conversation)[0]

    assert (await state()).answers == {"language": "en", "in_danger": "yes", "consent": "yes", "writer": "self"}
    await receiver.receive(Inbound(channel="test", user="42", chat="4242", event=Command("human"), update_key="9"))
    after = await state()
    assert after.status == "handoff" and after.answers == {}


async def test_retention_destroys_cases_without_recent_activity(core: Core, settings: Settings) -> None:
    sender = RecordingSender()
    await receiver_for(core, sender).receive(
        Inbound(channel="test", user="42", chat="4242", event=Command("start"), update_key="1")
    )
    assert await admin.purge_older_than(core.sessions, 30, core.service.clock) == 0
    later = core.service.clock() + timedelta(days=31)
    assert await admin.purge_older_than(core.sessions, 30, lambda: later) == 1
    async with core.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0
    assert settings.retention_days == 365


def test_the_private_key_scan_never_opens_the_live_database_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Closing any descriptor of a file drops this process's POSIX locks on it: reading SQLite's -shm
    # file while the bot uses the database let another process reset it, and the bot died of SIGBUS.
    from bot.transcript import keyfiles

    for name in ("accueil.db", "accueil.db-wal", "accueil.db-shm", "accueil.db-journal"):
        (tmp_path / name).write_bytes(keyfiles.PRIVATE_MARKER)  # would be "found" if it were read
    key = tmp_path / "forgotten.key"
    key.write_bytes(keyfiles.PRIVATE_MARKER + b" rest of a key file")
    read: list[str] = []
    real = Path.read_bytes

    def reading(self: Path) -> bytes:
        read.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", reading)
    assert keyfiles.private_keys_under(tmp_path) == [key]
    assert read == ["forgotten.key"]
