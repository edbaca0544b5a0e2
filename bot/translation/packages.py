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
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.errors import ConfigError
from bot.translation.argos import InstalledPackage, is_language_code, read_package

Progress = Callable[[int, int], None]
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Caps:
    """How much one package may unpack to. The largest Argos packages hold a few hundred MB, ten-odd
    files, and barely compress (model weights): a package over these caps is refused before a byte is
    written (the sizes in the archive's directory are the most `zipfile` will unpack)."""

    max_bytes: int = 2 << 30
    max_files: int = 1000
    max_ratio: int = 20  # unpacked size over the size of the .argosmodel file


def _members(archive: zipfile.ZipFile, path: Path, caps: Caps) -> tuple[str, list[zipfile.ZipInfo]]:
    entries = archive.infolist()
    if len(entries) > caps.max_files:
        raise ConfigError(f"{path} is refused: it holds {len(entries)} files (at most {caps.max_files})")
    members = [m for m in entries if not m.filename.endswith("/")]
    tops = {PurePosixPath(m.filename).parts[0] for m in members if PurePosixPath(m.filename).parts}
    if len(tops) != 1:
        raise ConfigError(f"{path} is not an Argos package: it must hold exactly one folder")
    for member in members:
        parts = PurePosixPath(member.filename).parts
        if member.filename.startswith("/") or ".." in parts or "\\" in member.filename or "\x00" in member.filename:
            raise ConfigError(f"{path} is not a safe archive: it names {member.filename!r}")
    total = sum(m.file_size for m in members)
    if total > caps.max_bytes:
        raise ConfigError(
            f"{path} is refused: it would unpack to {total / 1e6:.0f} MB (at most {caps.max_bytes / 1e6:.0f} MB)"
        )
    if total > caps.max_ratio * max(path.stat().st_size, 1):
        raise ConfigError(
            f"{path} is refused: it would unpack to {total / 1e6:.0f} MB, over {caps.max_ratio} times its own size"
        )
    return tops.pop(), members


def _unpack(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], staging: Path, progress: Progress | None) -> None:
    """Write each member under `staging`, never more bytes than the archive's directory announced."""
    total = sum(m.file_size for m in members)
    done = 0
    for member in members:
        target = staging / member.filename
        if not target.resolve().is_relative_to(staging.resolve()):
            raise ConfigError(f"not a safe archive: it names {member.filename!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(member) as source, target.open("xb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > member.file_size:
                    raise ConfigError(f"not a safe archive: {member.filename!r} is larger than announced")
                sink.write(chunk)
                if progress is not None:
                    progress(done + written, total)
        done += written


def install(
    path: Path, models_dir: Path, progress: Progress | None = None, caps: Caps | None = None
) -> InstalledPackage:
    """Install one `.argosmodel` file; replaces an installed package of the same pair."""
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path} is not an Argos package (.argosmodel zip archive)")
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=models_dir))
    try:
        try:
            with zipfile.ZipFile(path) as archive:
                top, members = _members(archive, path, caps or Caps())
                _unpack(archive, members, staging, progress)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise ConfigError(f"{path} is a damaged or unsupported archive: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot unpack {path} into {models_dir}: {exc.strerror}") from exc
        try:
            package = read_package(staging / top)
        except ValueError as exc:
            raise ConfigError(f"{path} is not a usable Argos package: {exc}") from exc
        final = _install_folder(models_dir, package.from_code, package.to_code)
        if final.exists():
            old = models_dir / f".replaced-{final.name}-{os.getpid()}"
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        (staging / top).rename(final)
        return read_package(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install_folder(models_dir: Path, source: str, target: str) -> Path:
    """Where the package of a pair lives; its codes are checked, and the folder must sit in `models_dir`."""
    if not (is_language_code(source) and is_language_code(target)):
        raise ConfigError(f"{source[:20]!r}-{target[:20]!r} is not a pair of language codes (such as ar-en)")
    folder = models_dir / f"translate-{source}_{target}"
    if folder.resolve().parent != models_dir.resolve():
        raise ConfigError(f"the model folder for {source}-{target} would be outside {models_dir}")
    return folder


def remove(pair: str, models_dir: Path) -> Path:
    """Remove the package for `xx-yy` (or `xx_yy`)."""
    source, _, target = pair.replace("_", "-").partition("-")
    folder = _install_folder(models_dir, source, target)
    if not folder.is_dir():
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
