"""Benchmark 2: `ArgosTranslator` against CTranslate2 called directly, and what batching gains.

Overhead: the same texts, one at a time, through `ArgosTranslator.translate`
(protected spans, sentence splitting, SentencePiece both ways, the batcher,
the worker thread) and through `ctranslate2.Translator.translate_batch` on the
very token lists the translator would make (tokenised beforehand, not timed),
one call per text, with the same compute type, threads, beam size and
decoding limits; the two sides alternate text by text. The same again with 32
texts gathered at once (the translator's batcher makes one call of them, and so
does the bare side). The translator is built with ``cache_size=0``: its cache keeps
an entry only while it holds more than ``cache_size`` entries, i.e. never, so
nothing is answered from it (checked after each run); the texts are all
different too.

Batching: 1, 8 or 32 conversations each submit one sentence at the same time
(``asyncio.gather`` of ``translate`` calls), round after round; the batcher
turns each round into one ``translate_batch`` call.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import sentencepiece

from bot.translation import packages
from bot.translation.argos import CHUNK_CHARS, ArgosTranslator, InstalledPackage, discover
from bot.translation.text import chunk, protect, split_sentences
from testkit.tiny_argos import build_package

BEAM_SIZE = 2  # ArgosTranslator's default
COMPUTE_TYPE = "int8"  # ACCUEIL_MT_COMPUTE_TYPE's default
THREADS = 0  # ACCUEIL_MT_THREADS's default (CTranslate2 chooses)
CONCURRENCY = (1, 8, 32)

_PHRASE = (
    "I worked in a restaurant kitchen for two years without pay and the owner kept my passport "
    "because he said I owed him money for the journey my sister lives in another town she does not "
    "know where I am we slept in a small room above the shop with five other people they told us "
    "never to speak to the police or to anyone from the street at night I was afraid to go out "
    "please call me in the evening when he is not at home I need a lawyer and a doctor for my son"
)
_WORDS = _PHRASE.split()


def make_texts(count: int, sentences: int, seed: int) -> list[str]:
    """`count` different texts of `sentences` sentences each (8 to 16 words), some with a time or a phone number."""
    rng = random.Random(seed)
    texts = []
    for index in range(count):
        parts = []
        for _ in range(sentences):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 16))]
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), rng.choice(("at 18:30", "on 06 12 34 56 78", "since 2023")))
            parts.append(" ".join(words).capitalize() + ".")
        texts.append(f"{' '.join(parts)} ({seed}-{index})")
    return texts


@dataclass
class Model:
    """One package, loaded twice: behind `ArgosTranslator`, and bare."""

    label: str
    package: InstalledPackage
    translator: ArgosTranslator
    bare: ctranslate2.Translator
    tokenizer: sentencepiece.SentencePieceProcessor

    @classmethod
    def load(cls, label: str, models_dir: Path, package: InstalledPackage) -> Model:
        translator = ArgosTranslator(
            models_dir, compute_type=COMPUTE_TYPE, threads=THREADS, beam_size=BEAM_SIZE, cache_size=0
        )
        bare = ctranslate2.Translator(
            str(package.path / "model"), device="cpu", compute_type=COMPUTE_TYPE, intra_threads=THREADS
        )
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
        return cls(label, package, translator, bare, tokenizer)

    def close(self) -> None:
        self.translator.close()

    def parts(self, text: str) -> list[str]:
        """The pieces of `text` `ArgosTranslator` hands to the model (one hop): sentences, protected spans held."""
        parts: list[str] = []
        for sentence, _ in split_sentences(protect(text).text):
            if sentence.strip():
                parts.extend(part.strip() for part in chunk(sentence, CHUNK_CHARS) if part.strip())
        return parts

    def pieces(self, text: str) -> list[list[str]]:
        """The token lists `ArgosTranslator` hands to CTranslate2 for `text` (one hop)."""
        return [self.tokenizer.encode(part, out_type=str) for part in self.parts(text)]

    def bare_batch(self, tokens: list[list[str]]) -> list[list[str]]:
        """CTranslate2 alone, as the translator calls it: the best hypothesis of each, as tokens."""
        longest = max((len(t) for t in tokens), default=1)
        results = self.bare.translate_batch(
            tokens, beam_size=BEAM_SIZE, max_decoding_length=2 * longest + 16, replace_unknowns=True
        )
        return [result.hypotheses[0] for result in results]

    def sentencepiece_seconds(self, texts: list[str], outputs: list[list[str]]) -> float:
        """Seconds SentencePiece takes to tokenise `texts`' pieces and detokenise `outputs` (part of the overhead)."""
        pieces = [part for text in texts for part in self.parts(text)]
        started = time.perf_counter()
        for part in pieces:
            self.tokenizer.encode(part, out_type=str)
        for tokens in outputs:
            self.tokenizer.decode(tokens)
        return time.perf_counter() - started

    async def translate_all(self, texts: list[str], at_once: int) -> None:
        pair = self.package.pair
        for start in range(0, len(texts), at_once):
            await asyncio.gather(*(self.translator.translate(t, *pair) for t in texts[start : start + at_once]))
        if self.translator._cache:  # cache_size=0 keeps nothing: every text went to the model
            raise AssertionError("the translation cache answered during the benchmark")


async def overhead_round(model: Model, texts: list[str], at_once: int = 1) -> dict[str, float]:
    """Seconds for the texts, `at_once` at a time, through the translator and bare; sentences counted.

    The two sides alternate group by group, so that both see the machine in the same state.
    """
    tokenised = [model.pieces(t) for t in texts]
    sentences = sum(len(t) for t in tokenised)
    argos = bare = 0.0
    outputs: list[list[str]] = []
    for start in range(0, len(texts), at_once):
        began = time.perf_counter()
        await model.translate_all(texts[start : start + at_once], at_once)
        middle = time.perf_counter()
        outputs += model.bare_batch([s for tokens in tokenised[start : start + at_once] for s in tokens])
        argos += middle - began
        bare += time.perf_counter() - middle
    spm = model.sentencepiece_seconds(texts, outputs)
    return {"sentences": sentences, "argos_s": argos, "bare_s": bare, "sentencepiece_s": spm}


async def concurrency_round(model: Model, sentences: list[str], at_once: int) -> float:
    """Sentences per second when `at_once` conversations each submit one sentence at the same time."""
    started = time.perf_counter()
    await model.translate_all(sentences, at_once)
    return len(sentences) / (time.perf_counter() - started)


def installed_models_dir() -> Path:
    data_dir = Path(os.environ.get("ACCUEIL_DATA_DIR") or "data")
    return Path(os.environ.get("ACCUEIL_MODELS_DIR") or data_dir / "models")


def tiny_model(folder: Path) -> tuple[Path, InstalledPackage]:
    """A tiny copy model en→fr built by testkit.tiny_argos, installed in `folder`."""
    archive = build_package(folder / "archives", "en", "fr")
    models_dir = folder / "models"
    package = packages.install(archive, models_dir)
    return models_dir, package


def real_models() -> tuple[Path, list[InstalledPackage], str]:
    """The Argos packages installed under ACCUEIL_MODELS_DIR, and what was looked at."""
    models_dir = installed_models_dir()
    found, _broken = discover(models_dir)
    return models_dir, found, str(models_dir)


def scratch() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="accueil-bench-mt-")
