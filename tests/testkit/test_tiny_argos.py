"""The tiny Argos packages: real archives, real CTranslate2 models that copy their input exactly."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import pytest
import sentencepiece

from testkit.tiny_argos import (
    ARGOS_VERSION,
    MAX_SOURCE_TOKENS,
    build_package,
    sentencepiece_model,
    write_sentencepiece_model,
)

PAIRS = {"ar_en": ("ar", "en", "[ar>en]"), "en_fr": ("en", "fr", "[en>fr]"), "ru_en": ("ru", "en", None)}

SENTENCES = [
    "Je m'appelle Zoé, j'ai été frappée à côté de l'école ; ça fait très mal.",
    "Меня зовут Мария. Вчера вечером он ударил меня.",
    "أين مركز الشرطة؟ أنا خائفة جدا.",
    "他昨天晚上打了我。警察局在哪里？",
    "আমি খুব ভয় পাচ্ছি। পুলিশ কোথায়?",
    "ፖሊስ ኣበይ ኣሎ፧ ኣዝየ ፈሪሐ እየ።",
    "Call +33 6 12 34 56 78 or write to marie_dupont@example.org.",
    "My number is ⟦3⟧ and my address ⟦12⟧.",
    "¿Dónde está la comisaría? Não consigo falar, irmã.",
    "Mă numesc Ioana și am nevoie de ajutor: Țara, școală.",
    "Kailangan ko ng tulong, salamat po.",
    "Мене звати Марія; Казвам се Мария и имам нужда от помощ.",
    "پلیس کجاست؟ گچ، ژاله، چای، پدر، گل۔",
    "Emojis and rare letters go through bytes: 🙂 Ǆ ß ǂ 𝄞.",
    "Case 2024-0915/B (see https://example.org/help): 10:30 - 12:45, @karim_b.",
    "a",
]


@dataclass(frozen=True)
class Package:
    archive: Path
    root: Path
    tag: str | None

    def prefix(self) -> str:
        return f"{self.tag} " if self.tag else ""

    def tokenizer(self) -> sentencepiece.SentencePieceProcessor:
        return sentencepiece.SentencePieceProcessor(model_file=str(self.root / "sentencepiece.model"))


@dataclass
class Built:
    packages: dict[str, Package]
    seconds: float


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("tiny-argos")
    started = time.perf_counter()
    archives = {
        name: build_package(out / "archives", from_code, to_code, tag=tag)
        for name, (from_code, to_code, tag) in PAIRS.items()
    }
    seconds = time.perf_counter() - started
    packages = {}
    for name, archive in archives.items():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(out / "installed")
        root = out / "installed" / archive.name.removesuffix(".argosmodel")
        packages[name] = Package(archive, root, PAIRS[name][2])
    return Built(packages, seconds)


Translate = Callable[[str, list[str], str], list[str]]


@pytest.fixture(scope="module")
def translate(built: Built) -> Translate:
    """translate(package name, texts, compute type): the package's tokenizer and model, greedy."""
    loaded: dict[tuple[str, str], ctranslate2.Translator] = {}

    def run(name: str, texts: list[str], compute_type: str = "int8") -> list[str]:
        package = built.packages[name]
        if (name, compute_type) not in loaded:
            loaded[name, compute_type] = ctranslate2.Translator(
                str(package.root / "model"), device="cpu", compute_type=compute_type
            )
        tokenizer = package.tokenizer()
        tokens = [tokenizer.encode(text, out_type=str) for text in texts]
        results = loaded[name, compute_type].translate_batch(
            tokens, beam_size=1, max_decoding_length=2 * max(len(t) for t in tokens) + 16
        )
        return [tokenizer.decode(result.hypotheses[0]) for result in results]

    return run


def test_three_packages_build_in_a_few_seconds(built: Built) -> None:
    assert built.seconds < 10
    for package in built.packages.values():
        size = sum(f.stat().st_size for f in (package.root / "model").iterdir())
        assert size < 10_000_000
        assert package.archive.stat().st_size < 2_000_000


def test_archive_holds_one_folder_laid_out_like_argos_packages(built: Built) -> None:
    package = built.packages["ar_en"]
    assert package.archive.name == "translate-ar_en-1_0.argosmodel"
    with zipfile.ZipFile(package.archive) as zipped:
        files = sorted(name for name in zipped.namelist() if not name.endswith("/"))
    assert files == [
        "translate-ar_en-1_0/metadata.json",
        "translate-ar_en-1_0/model/config.json",
        "translate-ar_en-1_0/model/model.bin",
        "translate-ar_en-1_0/model/shared_vocabulary.json",
        "translate-ar_en-1_0/sentencepiece.model",
    ]


def test_metadata_mirrors_argos(built: Built) -> None:
    for name, (from_code, to_code, _) in PAIRS.items():
        metadata = json.loads((built.packages[name].root / "metadata.json").read_text(encoding="utf-8"))
        names = {"ar": "Arabic", "en": "English", "fr": "French", "ru": "Russian"}
        assert metadata == {
            "package_version": "1.0",
            "argos_version": ARGOS_VERSION,
            "from_code": from_code,
            "from_name": names[from_code],
            "to_code": to_code,
            "to_name": names[to_code],
            "type": "translate",
        }


def test_model_uses_the_sentencepiece_vocabulary_and_argos_special_tokens(built: Built) -> None:
    root = built.packages["ru_en"].root
    tokenizer = built.packages["ru_en"].tokenizer()
    vocabulary = json.loads((root / "model" / "shared_vocabulary.json").read_text(encoding="utf-8"))
    assert vocabulary == [tokenizer.id_to_piece(i) for i in range(tokenizer.get_piece_size())]
    assert vocabulary[:3] == ["<unk>", "<s>", "</s>"]
    config = json.loads((root / "model" / "config.json").read_text(encoding="utf-8"))
    assert (config["unk_token"], config["bos_token"], config["eos_token"]) == ("<unk>", "<s>", "</s>")
    # One trained SentencePiece model, shared by every package of the session.
    for package in built.packages.values():
        assert (package.root / "sentencepiece.model").read_bytes() == sentencepiece_model()
    for piece in ["⟦0⟧", "⟦3⟧", "⟦19⟧", "[ar>en]", "[en>fr]"]:
        assert tokenizer.encode(piece, out_type=str)[-1] == piece


@pytest.mark.parametrize("compute_type", ["int8", "default", "float32"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_each_sentence_comes_back_exactly(translate: Translate, built: Built, name: str, compute_type: str) -> None:
    prefix = built.packages[name].prefix()
    for sentence in SENTENCES:
        assert translate(name, [sentence], compute_type) == [prefix + sentence]


@pytest.mark.parametrize("compute_type", ["int8", "default"])
def test_a_batch_of_16_different_sentences(translate: Translate, compute_type: str) -> None:
    assert len(set(SENTENCES)) == 16
    assert translate("ar_en", SENTENCES, compute_type) == ["[ar>en] " + s for s in SENTENCES]
    assert translate("ru_en", SENTENCES, compute_type) == SENTENCES


def test_a_400_token_input(translate: Translate, built: Built) -> None:
    tokenizer = built.packages["ru_en"].tokenizer()
    text = " ".join(SENTENCES[:10]) + " "  # mixed scripts, < 400 tokens; padded with one-piece placeholders
    text += "⟦3⟧" * (400 - len(tokenizer.encode(text)))
    assert len(tokenizer.encode(text)) == 400
    assert translate("ru_en", [text, "short"], "int8") == [text, "short"]
    assert translate("en_fr", [text], "int8") == ["[en>fr] " + text]


def test_the_tag_shows_which_models_a_pivot_went_through(translate: Translate) -> None:
    (english,) = translate("ar_en", ["hello"], "int8")
    assert english == "[ar>en] hello"
    assert translate("en_fr", [english], "int8") == ["[en>fr] [ar>en] hello"]
    (arabic_via_english,) = translate("ar_en", ["أين مركز الشرطة؟"], "int8")
    assert translate("en_fr", [arabic_via_english], "int8") == ["[en>fr] [ar>en] أين مركز الشرطة؟"]


def test_beam_search_with_argos_settings_and_a_short_decoding_limit(built: Built) -> None:
    tokenizer = built.packages["ar_en"].tokenizer()
    translator = ctranslate2.Translator(str(built.packages["ar_en"].root / "model"), device="cpu", compute_type="int8")
    tokens = [tokenizer.encode(s, out_type=str) for s in SENTENCES]
    results = translator.translate_batch(
        tokens, beam_size=4, num_hypotheses=2, length_penalty=0.2, replace_unknowns=True, return_scores=True
    )
    for sentence, result in zip(SENTENCES, results, strict=True):
        assert tokenizer.decode(result.hypotheses[0]) == "[ar>en] " + sentence
        assert result.scores[0] > -0.01
    # Like a real model, a decoding limit cuts the output (the tag counts as one token).
    cut = translator.translate_batch([tokens[0]], beam_size=1, max_decoding_length=5)
    assert cut[0].hypotheses[0] == ["[ar>en]", *tokens[0][:4]]


def test_longer_inputs_are_truncated_at_the_model_limit(built: Built) -> None:
    tokenizer = built.packages["ru_en"].tokenizer()
    translator = ctranslate2.Translator(str(built.packages["ru_en"].root / "model"), device="cpu")
    tokens = tokenizer.encode(" ".join(SENTENCES * 2), out_type=str)[: MAX_SOURCE_TOKENS + 20]
    assert len(tokens) == MAX_SOURCE_TOKENS + 20
    (result,) = translator.translate_batch([tokens], beam_size=1, max_decoding_length=2 * len(tokens))
    assert result.hypotheses[0] == tokens[:MAX_SOURCE_TOKENS]


def test_a_given_sentencepiece_model_and_version(tmp_path: Path) -> None:
    spm = write_sentencepiece_model(tmp_path / "shared.model")
    archive = build_package(tmp_path, "fa", "en", tag="[fa>en]", version="1.9", spm=spm, quantization=None)
    assert archive.name == "translate-fa_en-1_9.argosmodel"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(tmp_path)
        assert zipped.read("translate-fa_en-1_9/sentencepiece.model") == spm.read_bytes()
    root = tmp_path / "translate-fa_en-1_9"
    assert json.loads((root / "metadata.json").read_text(encoding="utf-8"))["package_version"] == "1.9"
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(root / "sentencepiece.model"))
    translator = ctranslate2.Translator(str(root / "model"), device="cpu", compute_type="int8")
    (result,) = translator.translate_batch([tokenizer.encode("سلام، پدر؟", out_type=str)], beam_size=1)
    assert tokenizer.decode(result.hypotheses[0]) == "[fa>en] سلام، پدر؟"
    # Same inputs, same bytes: archives are reproducible.
    again = build_package(tmp_path / "again", "fa", "en", tag="[fa>en]", version="1.9", spm=spm, quantization=None)
    assert again.read_bytes() == archive.read_bytes()


def test_a_tag_too_long_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pieces long"):
        build_package(tmp_path, "en", "fr", tag="[🙂🙂🙂🙂🙂]")  # 23 pieces
