"""Installing a translation package cannot write outside the models directory, nor fill the disk.

The packages are built here: a real tiny package (testkit.tiny_argos) repacked with hostile
metadata, and zip files that unpack to far more than they weigh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.app.settings import PROJECT_ROOT
from bot.errors import ConfigError
from bot.translation import packages
from bot.translation.argos import discover, is_language_code
from testkit.tiny_argos import build_package


@pytest.fixture(scope="module")
def en_fr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("argos"), "en", "fr")


def _repack(source: Path, out: Path, **metadata: str) -> Path:
    """`source` with its metadata.json changed by `metadata`, every other file as it was."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename.endswith("/metadata.json"):
                data = json.dumps({**json.loads(data), **metadata}).encode()
            copy.writestr(item, data)
    return out


def _accueil(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCUEIL_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**env, "ACCUEIL_DATA_DIR": str(tmp_path / "data")},
    )


def test_a_language_code_that_climbs_out_of_the_models_directory_is_refused(en_fr: Path, tmp_path: Path) -> None:
    models = tmp_path / "srv" / "accueil" / "models"
    packages.install(en_fr, models)  # translate-en_fr exists, so the path below resolves
    precious = tmp_path / "srv" / "somedir"
    precious.mkdir()
    (precious / "keep.txt").write_text("kept")
    evil = _repack(en_fr, tmp_path / "evil.argosmodel", to_code="fr/../../../somedir")

    with pytest.raises(ConfigError, match="not a language code") as caught:
        packages.install(evil, models)

    assert "\n" not in str(caught.value)
    assert (precious / "keep.txt").read_text() == "kept"
    assert sorted(p.name for p in precious.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in models.iterdir()) == ["translate-en_fr"]


@pytest.mark.parametrize("code", ["", "f", "fran", "FR", "fr/..", "..", "f.", "fr_FR", "fr-FR", "fr\n", " fr", "ﬀ"])
def test_package_codes_are_two_or_three_lowercase_letters(en_fr: Path, tmp_path: Path, code: str) -> None:
    assert not is_language_code(code)
    evil = _repack(en_fr, tmp_path / "evil.argosmodel", from_code=code)
    with pytest.raises(ConfigError, match="not a usable Argos package"):
        packages.install(evil, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_real_argos_codes_install(en_fr: Path, tmp_path: Path) -> None:
    # Codes of the Argos index: two letters, with script or region folded in (zt, pb); ISO 639-3 fits too.
    for code in ("zt", "pb", "ar", "ckb"):
        assert is_language_code(code)
    installed = packages.install(_repack(en_fr, tmp_path / "zt.argosmodel", to_code="zt"), tmp_path / "models")
    assert installed.pair == ("en", "zt") and installed.path == tmp_path / "models" / "translate-en_zt"


def test_an_installed_folder_with_a_hostile_code_is_listed_as_broken(en_fr: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = packages.install(en_fr, models).path
    meta = folder / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "to_code": "../../etc"}))
    installed, broken = discover(models)
    assert installed == []
    assert [(b.path.name, b.reason) for b in broken] == [
        ("translate-en_fr", "metadata.json has a to_code that is not a language code: '../../etc'")
    ]


def test_removing_a_pair_that_is_not_two_codes_touches_nothing(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "translate-..").mkdir(parents=True)
    (tmp_path / "x_en").mkdir()
    with pytest.raises(ConfigError, match="not a pair of language codes"):
        packages.remove("../../x-en", models)
    assert (tmp_path / "x_en").is_dir()


def _bomb(path: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("pkg/metadata.json", json.dumps({"from_code": "en", "to_code": "fr"}))
        archive.writestr("pkg/model/model.bin", bytes(megabytes << 20))
    return path


def test_a_package_that_unpacks_to_far_more_than_it_weighs_is_refused_before_writing(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "bomb.argosmodel", 40)
    assert bomb.stat().st_size < 100_000
    written: list[int] = []
    with pytest.raises(ConfigError, match="over 20 times its own size") as caught:
        packages.install(bomb, tmp_path / "models", lambda done, _total: written.append(done))
    assert "\n" not in str(caught.value)
    assert written == []
    assert list((tmp_path / "models").iterdir()) == []


def test_size_and_file_count_are_capped(en_fr: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"it would unpack to 3 MB \(at most 1 MB\)"):
        packages.install(en_fr, tmp_path / "models", caps=packages.Caps(max_bytes=1_000_000))
    many = tmp_path / "many.argosmodel"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(1001):
            archive.writestr(f"pkg/f{i}", b"x")
    with pytest.raises(ConfigError, match=r"it holds 1001 files \(at most 1000\)"):
        packages.install(many, tmp_path / "models")
    assert packages.Caps() == packages.Caps(max_bytes=2 << 30, max_files=1000, max_ratio=20)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_damaged_archive_is_one_line(en_fr: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.argosmodel"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/metadata.json", b"A" * 4000)
    data = bytearray(damaged.read_bytes())
    data[100:110] = b"B" * 10  # inside the stored member: its CRC no longer matches
    damaged.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="damaged or unsupported archive"):
        packages.install(damaged, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_accueil_models_install_refuses_a_bomb_with_one_line(tmp_path: Path) -> None:
    result = _accueil(tmp_path, "models", "install", str(_bomb(tmp_path / "bomb.argosmodel", 40)))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "over 20 times its own size" in result.stderr
