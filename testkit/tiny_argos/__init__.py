"""Small but real Argos Translate packages, built offline in about a second.

:func:`build_package` writes a ``.argosmodel`` zip laid out like the packages
Argos Translate publishes::

    translate-ar_en-1_0/
        metadata.json          # package_version, argos_version, from/to code and name, type
        sentencepiece.model    # a real SentencePiece model (byte fallback: any text round-trips)
        model/                 # a real CTranslate2 TransformerSpec directory (int8 weights by default)
            config.json  model.bin  shared_vocabulary.json

The model is not trained: its weights are set by hand so that it *copies* its
input, token by token, optionally after emitting a tag ("[ar>en]") that tells
a test which model translated a text; a pivot through English shows both tags
("[en>fr] [ar>en] hello"). Load it like any Argos model, with
``ctranslate2.Translator(model_dir)`` and the package's SentencePiece model.

Limits: at most ``MAX_SOURCE_TOKENS`` source tokens (CTranslate2's default
``max_input_length``; longer inputs are truncated, or rejected with
``max_input_length=0``) and ``MAX_TAG_PIECES`` tag pieces. A complete copy
needs a ``max_decoding_length`` of ``len(tokens) + len(tag pieces)`` or more
(CTranslate2's default is 256); shorter, the output is cut like a real model's.
An empty source gives an empty output (CTranslate2 does not run the model).

The parts: ``vocabulary`` (the shared SentencePiece model, tag and placeholder pieces),
``weights`` (the hand-set weights, and how they copy), and here the package archive.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import sentencepiece

from testkit.tiny_argos.vocabulary import (
    LANGUAGE_NAMES,
    MAX_SOURCE_TOKENS,
    MAX_TAG_PIECES,
    PLACEHOLDER_PIECES,
    TAG_PIECES,
    sentencepiece_model,
    tag_pieces,
    write_sentencepiece_model,
)
from testkit.tiny_argos.weights import copy_spec

__all__ = [
    "ARGOS_VERSION",
    "LANGUAGE_NAMES",
    "MAX_SOURCE_TOKENS",
    "MAX_TAG_PIECES",
    "PLACEHOLDER_PIECES",
    "TAG_PIECES",
    "build_package",
    "default_tag",
    "package_name",
    "sentencepiece_model",
    "tag_pieces",
    "write_sentencepiece_model",
]


ARGOS_VERSION = "1.9"


def default_tag(from_code: str, to_code: str) -> str:
    """The conventional tag of a from_code -> to_code test model, e.g. "[ar>en]"."""
    return f"[{from_code}>{to_code}]"


def package_name(from_code: str, to_code: str, version: str = "1.0") -> str:
    """Argos' folder name, e.g. "translate-ar_en-1_0" (the archive adds ".argosmodel")."""
    return f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"


def _write_model(model_dir: Path, sp_model: bytes, tag: str | None, quantization: str | None) -> None:
    processor = sentencepiece.SentencePieceProcessor(model_proto=sp_model)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    for special in ("<unk>", "<s>", "</s>"):
        if special not in vocabulary:
            raise ValueError(f"the SentencePiece model has no {special} piece")
    pieces = tag_pieces(processor, tag) if tag else []
    if len(pieces) > MAX_TAG_PIECES:
        raise ValueError(f"tag {tag!r} is {len(pieces)} pieces long (at most {MAX_TAG_PIECES})")
    spec = copy_spec(vocabulary, [processor.piece_to_id(piece) for piece in pieces])
    spec.validate()
    spec.optimize(quantization=quantization)
    model_dir.mkdir(parents=True)
    spec.save(str(model_dir))


def _metadata(from_code: str, to_code: str, version: str) -> dict[str, object]:
    return {
        "package_version": version,
        "argos_version": ARGOS_VERSION,
        "from_code": from_code,
        "from_name": LANGUAGE_NAMES.get(from_code, from_code),
        "to_code": to_code,
        "to_name": LANGUAGE_NAMES.get(to_code, to_code),
        "type": "translate",
    }


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes = b"") -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible archives
    info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_package(
    out_dir: Path,
    from_code: str,
    to_code: str,
    *,
    tag: str | None = None,
    version: str = "1.0",
    spm: Path | None = None,
    quantization: str | None = "int8",
) -> Path:
    """Write ``out_dir/translate-{from}_{to}-{version}.argosmodel``, a package whose model copies its input.

    ``tag``: pieces emitted before the copy (e.g. ``default_tag("ar", "en")``); ``None`` copies verbatim.
    ``spm``: a SentencePiece model file to use instead of the shared tiny one (see
    :func:`write_sentencepiece_model`); it needs ``<unk>``, ``<s>`` and ``</s>``.
    ``quantization``: weight type of ``model.bin``, as CTranslate2's converters take it
    (``"int8"`` like Argos' published models, ``None`` or ``"float32"`` for float weights).
    """
    name = package_name(from_code, to_code, version)
    sp_model = spm.read_bytes() if spm is not None else sentencepiece_model()
    metadata = json.dumps(_metadata(from_code, to_code, version), indent=4, ensure_ascii=False) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    destination = out_dir / f"{name}.argosmodel"
    with tempfile.TemporaryDirectory(prefix="tiny-argos-") as scratch:
        model_dir = Path(scratch) / "model"
        _write_model(model_dir, sp_model, tag, quantization)
        partial = destination.with_name(destination.name + ".part")
        with zipfile.ZipFile(partial, "w") as archive:
            _zip_entry(archive, f"{name}/")
            _zip_entry(archive, f"{name}/metadata.json", metadata.encode())
            _zip_entry(archive, f"{name}/sentencepiece.model", sp_model)
            _zip_entry(archive, f"{name}/model/")
            for path in sorted(model_dir.iterdir()):
                _zip_entry(archive, f"{name}/model/{path.name}", path.read_bytes())
        partial.replace(destination)
    return destination
