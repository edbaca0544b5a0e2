"""A recipient key file cannot make Accueil work without end, read a file others can read, or crash.

Each malformed file is refused with one `TranscriptUnreadable` line, before any scrypt work; through
the `accueil` command, with exit code 2 and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app.settings import PROJECT_ROOT
from bot.errors import ConfigError, TranscriptUnreadable
from bot.transcript import keyfiles
from storage.crypto import RecipientPrivateKey

PASSPHRASE = "a long enough passphrase"


@pytest.fixture(scope="module")
def key_doc() -> dict[str, object]:
    doc: dict[str, object] = json.loads(RecipientPrivateKey.generate().to_file_bytes(PASSPHRASE, n=2**14))
    return doc


def _with_kdf(doc: dict[str, object], **kdf: object) -> bytes:
    base = doc["kdf"]
    assert isinstance(base, dict)
    return json.dumps({**doc, "kdf": {**base, **kdf}}).encode()


@pytest.mark.parametrize(
    "kdf",
    [
        {"n": 2**24},  # 16 GiB of memory
        {"n": 2**40},
        {"n": 2},  # next to no work per guess
        {"n": 2**13},
        {"n": 3 * 2**14},  # not a power of two
        {"r": 1},
        {"r": 2**20},
        {"p": 0},
        {"p": 2**16},
        {"n": 2**20, "r": 16},  # 2 GiB
    ],
)
def test_a_scrypt_cost_out_of_bounds_is_refused_before_any_work(
    key_doc: dict[str, object], kdf: dict[str, int]
) -> None:
    started = time.monotonic()
    with pytest.raises(TranscriptUnreadable, match="scrypt cost outside what Accueil accepts") as caught:
        RecipientPrivateKey.from_file_bytes(_with_kdf(key_doc, **kdf), PASSPHRASE)
    assert time.monotonic() - started < 1.0
    assert "\n" not in str(caught.value)


def test_a_key_written_with_next_to_no_scrypt_work_is_refused() -> None:
    weak = RecipientPrivateKey.generate().to_file_bytes(PASSPHRASE, n=2)
    with pytest.raises(TranscriptUnreadable, match="scrypt cost"):
        RecipientPrivateKey.from_file_bytes(weak, PASSPHRASE)


@pytest.mark.parametrize(
    "data",
    [
        b"[]",
        b'"accueil"',
        b"1",
        b"null",
        b"[" * 100_000,
        b'{"format": "accueil-recipient-key/v1", "kdf": []}',
        b'{"format": "accueil-recipient-key/v1", "kdf": "scrypt"}',
        b'{"format": "accueil-recipient-key/v1", "kdf": {"name": "argon2", "n": 16384, "r": 8, "p": 1}}',
        b'{"format": "accueil-recipient-key/v1", "kdf": {"n": true, "r": 8, "p": 1}}',
        b'{"format": "accueil-recipient-key/v1", "kdf": {"n": 16384.0, "r": 8, "p": 1}}',
        b'{"format": "accueil-recipient-key/v1", "kdf": {"n": "16384", "r": 8, "p": 1}}',
        b"\xff\xfe\x00",
    ],
)
def test_a_malformed_key_file_is_one_error(data: bytes) -> None:
    with pytest.raises(TranscriptUnreadable) as caught:
        RecipientPrivateKey.from_file_bytes(data, PASSPHRASE)
    assert "\n" not in str(caught.value)


def test_keys_within_bounds_still_open(key_doc: dict[str, object]) -> None:
    for cost in ({"n": 2**14}, {"n": 2**14, "r": 8, "p": 1}):
        with pytest.raises(TranscriptUnreadable, match="wrong passphrase"):  # bounds passed; only the tag fails
            RecipientPrivateKey.from_file_bytes(_with_kdf(key_doc, **cost), "another passphrase")
    assert RecipientPrivateKey.from_file_bytes(json.dumps(key_doc).encode(), PASSPHRASE).key_id == key_doc["key_id"]


def _accueil(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**env, "ACCUEIL_DATA_DIR": str(tmp_path / "data"), "ACCUEIL_KEY_PASSPHRASE": PASSPHRASE},
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_key_file_others_can_read_is_refused_with_the_command_that_fixes_it(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "marie.key"
    assert _accueil(tmp_path, "keys", "init", "--out", str(key)).returncode == 0
    key.chmod(0o640)
    assert _one_line(_accueil(tmp_path, "keys", "rewrap", "--key", str(key))) == (
        f"accueil: the key file {key} is open to other users (mode 640); run: chmod 600 {key}"
    )
    key.chmod(0o600)
    assert _accueil(tmp_path, "keys", "rewrap", "--key", str(key)).returncode == 0
    key.chmod(0o604)
    with pytest.raises(ConfigError, match=f"run: chmod 600 {key}$"):
        keyfiles.read_private(key)


@pytest.mark.parametrize(
    "content",
    [b"[]", b"{}", b"not json", b"x" * 70_000, b'{"format": "accueil-recipient-key/v1", "kdf": {"n": 16777216}}'],
)
def test_accueil_reports_a_malformed_key_file_in_one_line(tmp_path: Path, content: bytes) -> None:
    key = tmp_path / "bad.key"
    key.write_bytes(content)
    key.chmod(0o600)
    line = _one_line(_accueil(tmp_path, "transcript", "show", "ABCD-EFGH", "--key", str(key)))
    assert line.startswith("accueil: ") and ("not an Accueil recipient key" in line or "scrypt cost" in line)


def test_a_directory_or_a_device_given_as_key_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "folder.key").mkdir(mode=0o700)
    for path in (tmp_path / "folder.key", Path("/dev/zero")):
        assert "is not an Accueil recipient key file" in _one_line(
            _accueil(tmp_path, "keys", "rewrap", "--key", str(path))
        )
