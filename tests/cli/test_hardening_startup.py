"""What `accueil run` checks before serving, and the modes of what it writes.

- a private key under the data directory is found by its content, whatever its name or spacing,
  without opening the live database's files;
- the development key (`make run`) stops a Telegram bot unless --allow-development-key is given;
- the data directory is 0700 and the database files 0600, also when an older version left them open;
- SQLite overwrites deleted rows (secure_delete).
"""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import checks
from bot.app.settings import load_settings
from bot.errors import ConfigError
from bot.transcript import keyfiles
from storage.crypto import RecipientPrivateKey
from storage.db import make_engine, upgrade
from testkit.accueil import operator_env, run_accueil

PASSPHRASE = "a long enough passphrase"
BOT_API = "http://127.0.0.1:9"  # nothing listens there: a bot that gets past its checks fails to reach it


def _accueil(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    values = {"ACCUEIL_DATA_DIR": str(data_dir), "ACCUEIL_KEY_PASSPHRASE": PASSPHRASE, **env}
    return run_accueil(*args, env=operator_env(**values))


def _not_logs(stderr: str) -> list[str]:
    """The lines of stderr that are not JSON log lines."""
    return [line for line in stderr.splitlines() if not line.startswith('{"at": ')]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def key_file_bytes() -> bytes:
    return RecipientPrivateKey.generate().to_file_bytes(PASSPHRASE, n=2**14)


@pytest.mark.parametrize("name", ["x.db", "accueil.sqlite", "notes-wal", "backup.tar", "README"])
def test_a_private_key_is_found_by_content_whatever_its_name_and_spacing(
    tmp_path: Path, key_file_bytes: bytes, name: str
) -> None:
    compact = json.dumps(json.loads(key_file_bytes), separators=(",", ":")).encode()
    escaped = json.dumps(json.loads(key_file_bytes)).replace("accueil", "\\u0061ccueil").encode()
    for i, data in enumerate((compact, escaped, json.dumps(json.loads(key_file_bytes)).encode("utf-16"))):
        (tmp_path / f"{i}").mkdir()
        (tmp_path / f"{i}" / name).write_bytes(data)
    (tmp_path / "public.key.pub").write_text('{"format": "accueil-recipient-public/v1"}')
    assert keyfiles.private_keys_under(tmp_path) == [tmp_path / f"{i}" / name for i in range(3)]


def test_the_scan_leaves_a_live_database_unopened_whatever_its_name(
    tmp_path: Path, key_file_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    database = data_dir / "records.bin"
    settings = load_settings(
        {"ACCUEIL_DATA_DIR": str(data_dir), "ACCUEIL_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    )
    data_dir.mkdir()
    con = sqlite3.connect(database)  # holds the database (and its -wal, -shm) open, as the bot does
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (?)", (key_file_bytes.decode(),))  # would be "found" if it were read
        con.commit()
        stray = data_dir / "stray.db"
        stray.write_bytes(key_file_bytes)
        read: list[str] = []
        real = Path.read_bytes
        def recording(self: Path) -> bytes:
            read.append(self.name)
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", recording)
        assert checks.private_keys_in(settings) == [stray]
        assert sorted(read) == ["stray.db"]
        # Even not told which database is live, the scan opens no file this process holds open.
        assert keyfiles.private_keys_under(data_dir) == [stray]
        assert sorted(read) == ["stray.db", "stray.db"]
        assert {p.name for p in data_dir.iterdir()} >= {"records.bin", "records.bin-wal", "records.bin-shm"}
    finally:
        con.close()


def test_accueil_run_refuses_a_private_key_named_like_a_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = tmp_path / "keys" / "a.key"
    assert _accueil(data_dir, "keys", "init", "--out", str(key)).returncode == 0
    stray = data_dir / "old.db"
    stray.write_text(json.dumps(json.loads(key.read_bytes()), separators=(",", ":")))
    refused = _accueil(data_dir, "run", ACCUEIL_TELEGRAM_TOKEN="123:abc", ACCUEIL_TELEGRAM_API_BASE=BOT_API)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"a recipient private key is in the data directory ({stray})" in refused.stderr


def test_a_telegram_bot_refuses_the_development_key_unless_told(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    dev_key = tmp_path / "dev-keys" / "dev.key"
    made = _accueil(
        data_dir, "keys", "init", "--out", str(dev_key), "--label", "DEVELOPMENT ONLY",
        ACCUEIL_KEY_PASSPHRASE="Yx3_passphrase_from_token_urlsafe",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert _mode(dev_key) == 0o600  # what `make run` writes stays acceptable
    key_id = RecipientPrivateKey.from_file_bytes(dev_key.read_bytes(), "Yx3_passphrase_from_token_urlsafe").key_id
    token = {"ACCUEIL_TELEGRAM_TOKEN": "123:abc", "ACCUEIL_TELEGRAM_API_BASE": BOT_API}

    refused = _accueil(data_dir, "run", **token)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert _not_logs(refused.stderr) == [
        f"accueil: the recipient key {key_id} is the development key (DEVELOPMENT ONLY), whose passphrase lies "
        "beside it: register a caseworker's key (`accueil keys add FILE.pub`), then "
        f"`accueil keys revoke {key_id}`; or, for a test bot only, run with --allow-development-key"
    ]
    allowed = _accueil(data_dir, "run", "--allow-development-key", **token)
    assert allowed.returncode == 2 and "cannot reach the Bot API" in allowed.stderr
    assert "development key" not in allowed.stderr

    # The terminal intake is not concerned.
    shell = _accueil(data_dir, "shell")
    assert shell.returncode == 0 and "development key" not in shell.stderr

    # Once a caseworker's key is registered and the development key revoked, the bot starts.
    assert _accueil(data_dir, "keys", "init", "--out", str(tmp_path / "marie.key"), "--label", "Marie").returncode == 0
    assert _accueil(data_dir, "keys", "revoke", key_id).returncode == 0
    after = _accueil(data_dir, "run", **token)
    assert "cannot reach the Bot API" in after.stderr and "development key" not in after.stderr


def test_the_data_directory_and_database_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _accueil(data_dir, "db", "upgrade").returncode == 0
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "accueil.db") == 0o600


async def test_database_files_are_created_private_and_the_wal_follows(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    engine = make_engine(f"sqlite+aiosqlite:///{data_dir / 'accueil.db'}")
    try:
        await upgrade(engine)
        async with engine.connect() as connection:  # while it is open, the -wal and -shm files exist
            await connection.execute(text("SELECT count(*) FROM recipient_keys"))
            files = sorted(p.name for p in data_dir.iterdir())
            assert files == ["accueil.db", "accueil.db-shm", "accueil.db-wal"]
            assert {name: _mode(data_dir / name) for name in files} == dict.fromkeys(files, 0o600)
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 1
    finally:
        await engine.dispose()
    assert _mode(data_dir) == 0o700


async def test_what_an_older_version_left_open_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    names = ("accueil.db", "accueil.db-wal", "accueil.db-shm", "accueil.db-journal")
    for name in names:
        (data_dir / name).touch()
        (data_dir / name).chmod(0o644)
    engine = make_engine(f"sqlite+aiosqlite:///{data_dir / 'accueil.db'}")  # before SQLite opens anything
    await engine.dispose()
    assert _mode(data_dir) == 0o700
    assert {name: _mode(data_dir / name) for name in names} == dict.fromkeys(names, 0o600)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://bot.example.org/hook", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://127.5.6.7/hook", True),
        ("http://[::1]:8443/hook", True),
        ("http://evil/127.0.0.1/x", False),
        ("http://127.0.0.1.evil.org/x", False),
        ("http://evil.org/?next=127.0.0.1", False),
        ("http://127.0.0.1@evil.org/x", False),
        ("https://user:pw@bot.example.org/hook", False),
        ("http://localhost:8080/hook", False),
        ("https:///hook", False),
        ("https://bot.example.org:99999/hook", False),
        ("ftp://bot.example.org/hook", False),
        ("bot.example.org/hook", False),
    ],
)
def test_the_webhook_url_is_parsed(url: str, accepted: bool) -> None:
    environ = {"ACCUEIL_WEBHOOK_URL": url, "ACCUEIL_WEBHOOK_SECRET": "s" * 32}
    if accepted:
        assert load_settings(environ=environ).webhook_url == url
    else:
        with pytest.raises(ConfigError, match=r"^ACCUEIL_WEBHOOK_URL must be an https:// URL that Telegram can reach$"):
            load_settings(environ=environ)


@pytest.mark.parametrize(("secret", "accepted"), [("a", False), ("s" * 31, False), ("s" * 32, True), ("s" * 256, True)])
def test_the_webhook_secret_has_at_least_32_characters(secret: str, accepted: bool) -> None:
    environ = {"ACCUEIL_WEBHOOK_URL": "https://bot.example.org/hook", "ACCUEIL_WEBHOOK_SECRET": secret}
    if accepted:
        settings = load_settings(environ=environ)
        assert settings.webhook_secret is not None and settings.webhook_secret.reveal() == secret
    else:
        with pytest.raises(ConfigError, match=r"^ACCUEIL_WEBHOOK_SECRET must be 32-256 characters"):
            load_settings(environ=environ)
