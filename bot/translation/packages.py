"""Installing, listing and removing Argos packages (`accueil models ...`).

Installation is done here, not by `argostranslate.package.install_from_path`,
which imports `argostranslate.translate`. A package is unpacked into a hidden
folder beside the others, checked, then moved into place in one rename: a
crash leaves at most a hidden folder, never a half-installed model.
`download` asks the Argos package index, when a network is reachable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from bot.errors import ConfigError
from bot.translation.argos import InstalledPackage, read_package

Progress = Callable[[int, int], None]


def _members(archive: zipfile.ZipFile, path: Path) -> tuple[str, list[zipfile.ZipInfo]]:
    members = [m for m in archive.infolist() if not m.filename.endswith("/")]
    tops = {PurePosixPath(m.filename).parts[0] for m in members if PurePosixPath(m.filename).parts}
    if len(tops) != 1:
        raise ConfigError(f"{path} is not an Argos package: it must hold exactly one folder")
    for member in members:
        parts = PurePosixPath(member.filename).parts
        if member.filename.startswith("/") or ".." in parts or "\\" in member.filename:
            raise ConfigError(f"{path} is not a safe archive: it names {member.filename!r}")
    return tops.pop(), members


def install(path: Path, models_dir: Path, progress: Progress | None = None) -> InstalledPackage:
    """Install one `.argosmodel` file; replaces an installed package of the same pair."""
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path} is not an Argos package (.argosmodel zip archive)")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=models_dir))
    try:
        with zipfile.ZipFile(path) as archive:
            top, members = _members(archive, path)
            total = sum(m.file_size for m in members)
            done = 0
            for member in members:
                archive.extract(member, staging)
                done += member.file_size
                if progress is not None:
                    progress(done, total)
        try:
            package = read_package(staging / top)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a usable Argos package: {exc}") from exc
        final = models_dir / f"translate-{package.from_code}_{package.to_code}"
        if final.exists():
            old = models_dir / f".replaced-{final.name}-{os.getpid()}"
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        (staging / top).rename(final)
        return read_package(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove(pair: str, models_dir: Path) -> Path:
    """Remove the package for `xx-yy` (or `xx_yy`)."""
    source, _, target = pair.replace("_", "-").partition("-")
    folder = models_dir / f"translate-{source}_{target}"
    if not source or not target or not folder.is_dir():
        raise ConfigError(f"no installed model for {pair}; `accueil models list` shows them")
    shutil.rmtree(folder)
    return folder


def download(codes: Iterable[str], models_dir: Path, data_dir: Path, progress: Progress | None = None) -> list[Path]:
    """Fetch from the Argos index the packages between English and each of `codes`, then install them."""
    wanted = {c for c in codes if c != "en"}
    argos_home = data_dir / "argos"
    # argostranslate reads these when imported and creates folders under them.
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(argos_home / name.lower())
    os.environ["ARGOS_PACKAGES_DIR"] = str(argos_home / "unused-packages")
    from argostranslate import package as argos_package  # noqa: PLC0415 - only this command needs it

    try:
        argos_package.update_package_index()
        available = argos_package.get_available_packages()
    except Exception as exc:  # urllib and json errors, whatever the network does
        raise ConfigError(f"cannot reach the Argos package index (offline?): {type(exc).__name__}") from exc
    chosen = [p for p in available if {p.from_code, p.to_code} - {"en"} <= wanted and "en" in (p.from_code, p.to_code)]
    if not chosen:
        raise ConfigError(f"the Argos index has no package between English and {', '.join(sorted(wanted))}")
    installed: list[Path] = []
    for item in chosen:
        try:
            file = Path(item.download())
        except Exception as exc:
            raise ConfigError(f"download of {item.from_code}-{item.to_code} failed: {type(exc).__name__}") from exc
        installed.append(install(file, models_dir, progress).path)
    return installed
