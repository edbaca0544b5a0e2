"""Offline translation with installed Argos packages, run directly by CTranslate2.

Each installed package (a folder with `metadata.json`, `sentencepiece.model` and
a CTranslate2 `model/`) is loaded on first use. A text is split into sentences,
its protected spans replaced by placeholders, tokenised with the package's
SentencePiece model, and translated; requests that arrive together from many
conversations are grouped into one `translate_batch` call per model, run in a
worker thread so the event loop never waits. No network, no telemetry:
`argostranslate.translate` (which downloads sentence splitters and loads
onnxruntime) is never imported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ctranslate2
import sentencepiece

from bot.translation.port import NoTranslationPath, Route, Translation, TranslationError, find_route
from bot.translation.text import chunk, protect, restore, split_sentences

log = logging.getLogger("accueil.translation")

#: Longest piece of text handed to a model at once, in characters.
CHUNK_CHARS = 400


@dataclass(frozen=True)
class InstalledPackage:
    path: Path
    from_code: str
    to_code: str
    version: str
    from_name: str = ""
    to_name: str = ""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.from_code, self.to_code)

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


@dataclass(frozen=True)
class BrokenPackage:
    path: Path
    reason: str


#: Codes in the Argos index are two lowercase letters (script and region are folded in: `zt` is
#: traditional Chinese, `pb` Brazilian Portuguese); three letters leave room for ISO 639-3. Install
#: folders are named after them, so nothing else (no `/`, `.`, `_` or `-`) may pass.
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def is_language_code(code: str) -> bool:
    return LANGUAGE_CODE.fullmatch(code) is not None


def read_package(path: Path) -> InstalledPackage:
    """The package in `path`; raises ValueError saying what is wrong with it."""
    try:
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError("no metadata.json") from exc
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable metadata.json ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("type", "translate") != "translate":
        raise ValueError("not a translation package")
    for name in ("from_code", "to_code"):
        if not isinstance(meta.get(name), str) or not meta[name]:
            raise ValueError(f"metadata.json has no {name}")
        if not is_language_code(meta[name]):
            raise ValueError(f"metadata.json has a {name} that is not a language code: {meta[name][:20]!r}")
    if not (path / "sentencepiece.model").is_file():
        raise ValueError("no sentencepiece.model (half-installed?)")
    if not (path / "model" / "model.bin").is_file():
        raise ValueError("no model/model.bin (half-installed?)")
    return InstalledPackage(
        path=path,
        from_code=meta["from_code"],
        to_code=meta["to_code"],
        version=_printable(meta.get("package_version", "?")),
        from_name=_printable(meta.get("from_name", "")),
        to_name=_printable(meta.get("to_name", "")),
    )


def _printable(value: object, limit: int = 40) -> str:
    """A metadata text fit for a terminal: no control or escape characters, at most `limit` long."""
    return "".join(c for c in str(value) if c.isprintable())[:limit]


def discover(models_dir: Path) -> tuple[list[InstalledPackage], list[BrokenPackage]]:
    packages: list[InstalledPackage] = []
    broken: list[BrokenPackage] = []
    if not models_dir.is_dir():
        return packages, broken
    for path in sorted(p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            packages.append(read_package(path))
        except ValueError as exc:
            broken.append(BrokenPackage(path, str(exc)))
    return packages, broken


class _Model:
    """One loaded package: its CTranslate2 translator and SentencePiece tokenizer."""

    def __init__(self, package: InstalledPackage, compute_type: str, threads: int) -> None:
        self.tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
        self.translator = ctranslate2.Translator(
            str(package.path / "model"), device="cpu", compute_type=compute_type, intra_threads=threads
        )

    def translate(self, texts: list[str], beam_size: int) -> list[str]:
        tokens = [self.tokenizer.encode(text, out_type=str) for text in texts]
        longest = max((len(t) for t in tokens), default=1)
        results = self.translator.translate_batch(
            tokens, beam_size=beam_size, max_decoding_length=2 * longest + 16, replace_unknowns=True
        )
        return [str(self.tokenizer.decode(result.hypotheses[0])) for result in results]


@dataclass
class _Batcher:
    """Gathers what many conversations submit while the model is busy into one batch."""

    run: Callable[[list[str]], list[str]]
    executor: ThreadPoolExecutor
    pending: list[tuple[list[str], asyncio.Future[list[str]]]] = field(default_factory=list)
    draining: bool = False
    batches: int = 0

    async def submit(self, texts: list[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[str]] = loop.create_future()
        self.pending.append((texts, future))
        if not self.draining:
            self.draining = True
            loop.create_task(self._drain())  # noqa: RUF006 - it resolves the futures it serves
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0)  # let the requests of this moment join the batch
            while self.pending:
                batch, self.pending = self.pending, []
                flat = [text for texts, _ in batch for text in texts]
                self.batches += 1
                try:
                    results = await loop.run_in_executor(self.executor, self.run, flat)
                except Exception as exc:  # the model failed: every waiter learns it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(TranslationError(f"the model failed: {type(exc).__name__}"))
                    continue
                position = 0
                for texts, future in batch:
                    if not future.done():
                        future.set_result(results[position : position + len(texts)])
                    position += len(texts)
        finally:
            self.draining = False


class ArgosTranslator:
    def __init__(
        self,
        models_dir: Path,
        *,
        compute_type: str = "int8",
        threads: int = 0,
        beam_size: int = 2,
        cache_size: int = 2048,
    ) -> None:
        self.models_dir = models_dir
        self.compute_type = compute_type
        self.threads = threads
        self.beam_size = beam_size
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accueil-mt")
        self._batchers: dict[tuple[str, str], _Batcher] = {}
        self._models: dict[tuple[str, str], _Model] = {}
        self._failed: dict[tuple[str, str], str] = {}
        self.reload()

    def reload(self) -> None:
        """Look at the models directory again (after an install or removal)."""
        packages, broken = discover(self.models_dir)
        for item in broken:
            log.warning("translation package ignored: %s (%s)", item.path, item.reason)
        self.packages = {p.pair: p for p in packages}
        self._models = {pair: model for pair, model in self._models.items() if pair in self.packages}
        self._failed.clear()

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def pairs(self) -> set[tuple[str, str]]:
        return {pair for pair in self.packages if pair not in self._failed}

    def route(self, source: str, target: str) -> Route | None:
        return find_route(self.pairs(), source, target)

    async def translate(self, text: str, source: str, target: str) -> Translation:
        route = self.route(source, target)
        if route is None:
            raise NoTranslationPath(f"no installed model translates {source} to {target}, even via English")
        key = (source, target, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return Translation(cached, source, target, route)
        protected = protect(text)
        out = protected.text
        for pair in route.hops:
            out = await self._hop(out, pair)
        result = restore(out, protected)
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return Translation(result, source, target, route)

    async def _hop(self, text: str, pair: tuple[str, str]) -> str:
        pieces: list[tuple[str, str]] = []  # (text to translate or "", separator)
        for sentence, separator in split_sentences(text):
            parts = chunk(sentence, CHUNK_CHARS) if sentence.strip() else [sentence]
            for i, part in enumerate(parts):
                pieces.append((part, separator if i == len(parts) - 1 else " "))
        todo = [part for part, _ in pieces if part.strip()]
        if not todo:
            return text
        done = iter(await self._batcher(pair).submit([part.strip() for part in todo]))
        return "".join((next(done) if part.strip() else part) + sep for part, sep in pieces)

    def _batcher(self, pair: tuple[str, str]) -> _Batcher:
        batcher = self._batchers.get(pair)
        if batcher is None:
            batcher = _Batcher(lambda texts: self._run(pair, texts), self._executor)
            self._batchers[pair] = batcher
        return batcher

    def _run(self, pair: tuple[str, str], texts: list[str]) -> list[str]:
        """In the worker thread: load the model on first use, then translate."""
        model = self._models.get(pair)
        if model is None:
            package = self.packages[pair]
            try:
                model = _Model(package, self.compute_type, self.threads)
            except Exception as exc:
                self._failed[pair] = str(exc)
                log.error(
                    "translation model %s-%s failed to load from %s: %s; reinstall it with `accueil models install`",
                    pair[0],
                    pair[1],
                    package.path,
                    type(exc).__name__,
                )
                raise
            self._models[pair] = model
        return model.translate(texts, self.beam_size)

    def stats(self) -> dict[str, Any]:
        return {"batches": {f"{s}-{t}": b.batches for (s, t), b in self._batchers.items()}}
