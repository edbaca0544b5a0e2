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

How the weights copy (one encoder layer, one decoder layer, pre-norm; every
residual vector has zero mean and a squared norm of ``D_MODEL`` wherever a
layer norm reads it, so those layer norms are the identity):

* Explicit position encodings carry a position code: 12 frequencies, each as
  three phase-shifted cosines, so that code(p) . code(j) = 1.5 * sum(cos(w (p - j))),
  which is 18 when p == j and at most 9.6 for any other position below 1,100.
* Encoder: the embedding holds a balanced +-1 code of the token (64 dimensions,
  pairwise correlations <= 0.44); the encoder layer's sublayers have zero output
  weights, so the memory is [token code | code(j) | code(j) or, at j = 0, a sink flag].
* Decoder embeddings are zero; decoder step t gets, from its position encoding,
  code(t - L) (L = number of tag pieces), a code saying which tag piece to emit
  (or none), and an "EOS suppressed" flag for t <= L.
* Cross-attention head A matches code(t - L) against code(j) with a large query
  scale and copies the token code of source position t - L into the residual.
  Head B does the same but also sees the sink at position 0, whose score sits
  between "exact match" and "any other position": when source position t - L
  does not exist, head B lands on the sink and raises the EOS flag.
* The output projection maps the copied code to the logit of the same token
  (20 vs <= 8.8 for any other token), the tag code to its piece (50) and the
  EOS flag to ``</s>`` (40, or <= 0 while suppressed). Greedy decoding and
  beam search, float32 or int8, reproduce the input exactly.

Limits: at most ``MAX_SOURCE_TOKENS`` source tokens (CTranslate2's default
``max_input_length``; longer inputs are truncated, or rejected with
``max_input_length=0``) and ``MAX_TAG_PIECES`` tag pieces. A complete copy
needs a ``max_decoding_length`` of ``len(tokens) + len(tag pieces)`` or more
(CTranslate2's default is 256); shorter, the output is cut like a real model's.
An empty source gives an empty output (CTranslate2 does not run the model).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sentencepiece
from ctranslate2.specs import TransformerSpec

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

Matrix = npt.NDArray[np.float32]

ARGOS_VERSION = "1.9"

#: English names, as Argos Translate's package index spells them.
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "bn": "Bengali",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fr": "French",
    "it": "Italian",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "ti": "Tigrinya",
    "tl": "Tagalog",
    "uk": "Ukrainian",
    "zh": "Chinese",
}

_PIVOT = "en"
#: Placeholder pieces a translator can use to carry spans through a model intact.
PLACEHOLDER_PIECES: tuple[str, ...] = tuple(f"⟦{i}⟧" for i in range(20))
#: Tag pieces "[xx>en]" and "[en>xx]" for every language of LANGUAGE_NAMES.
TAG_PIECES: tuple[str, ...] = tuple(
    f"[{a}>{b}]" for code in sorted(LANGUAGE_NAMES) if code != _PIVOT for a, b in ((code, _PIVOT), (_PIVOT, code))
)

MAX_SOURCE_TOKENS = 1024
MAX_TAG_PIECES = 16

# --- model geometry ---------------------------------------------------------
D_MODEL = 160
NUM_HEADS = 2
HEAD_DIM = D_MODEL // NUM_HEADS
FFN_DIM = 32
TOKEN_CODE_DIM = 64
TAG_CODE_DIM = 32
_PERIODS = np.geomspace(2.1, 25.0, 12)
POS_CODE_DIM = 3 * len(_PERIODS)
_SINK_PAIRS = 4
# Decoding stops at step len(source) + len(tag) (+ a few steps for the tails of a beam search);
# CTranslate2 only fails when a step past the table is actually computed.
_DECODER_POSITIONS = 2 * MAX_SOURCE_TOKENS


def _blocks(*sizes: int) -> list[slice]:
    """Consecutive slices of the residual vector with these sizes."""
    ends = np.cumsum(sizes)
    if ends[-1] > D_MODEL - 2:
        raise AssertionError("the layout does not fit in D_MODEL")
    return [slice(int(end - size), int(end)) for end, size in zip(ends, sizes, strict=True)]


# Encoder residual: token code | code(j) | code(j) but 0 at j = 0 | sink flag (+s..., -s...) at j = 0.
_E_TOK, _E_POS, _E_POSB, _E_SINK_POS, _E_SINK_NEG = _blocks(
    TOKEN_CODE_DIM, POS_CODE_DIM, POS_CODE_DIM, _SINK_PAIRS, _SINK_PAIRS
)
# Decoder residual: code(t - L) | tag-piece code | (+A, -A) while EOS is suppressed (t <= L), else
# (+A, -A) in the next pair | copied token code | EOS flag (+f, -f).
_D_POS, _D_TAG, _D_SUPPRESS_ON, _D_SUPPRESS_OFF, _D_COPY, _D_EOS = _blocks(
    POS_CODE_DIM, TAG_CODE_DIM, 2, 2, TOKEN_CODE_DIM, 2
)
# Zero in every residual vector (as is its neighbour), so weights there change nothing; see _anchored().
_ANCHOR = D_MODEL - 2
# Attention heads (rows of the query/key/value projections).
_HA_QK = slice(0, POS_CODE_DIM)
_HA_V = slice(0, TOKEN_CODE_DIM)
_HB_QK = slice(HEAD_DIM, HEAD_DIM + POS_CODE_DIM)
_HB_SINK = HEAD_DIM + POS_CODE_DIM
_HB_V = HEAD_DIM

# Amplitudes chosen so that every layer-norm input has a squared norm of D_MODEL.
_ENC_AMP = float(np.sqrt(D_MODEL / (TOKEN_CODE_DIM + 2 * 1.5 * len(_PERIODS))))
_SINK_AMP = float(_ENC_AMP * np.sqrt(1.5 * len(_PERIODS) / (2 * _SINK_PAIRS)))
_DEC_AMP = float(np.sqrt(D_MODEL / (1.5 * len(_PERIODS) + TAG_CODE_DIM + 2)))
_COPY_AMP = _DEC_AMP
_EOS_AMP = _DEC_AMP
# Attention sharpness: a score step of 1 in "sum of cosines" units is worth this many nats.
_QUERY_SCALE_A = 4.0
_QUERY_SCALE_B = 5.0
# Smallest drop of sum(cos(w d)) from its maximum len(_PERIODS), over the distances d that matter
# (a decoder step that has not emitted EOS yet is at most one past the last source position): ~5.6.
_POSITION_GAP = float(
    (1 - np.cos(np.outer(np.arange(1, MAX_SOURCE_TOKENS + 2), 2 * np.pi / _PERIODS))).sum(axis=1).min()
)
_SINK_SCORE = 1.5 * (len(_PERIODS) - _POSITION_GAP / 2)  # halfway between an exact match and any other position
# Logits.
_COPY_LOGIT = 20.0
_TAG_LOGIT = 50.0
_EOS_LOGIT = 40.0
_MAX_CODE_CORRELATION = 0.44


def default_tag(from_code: str, to_code: str) -> str:
    """The conventional tag of a from_code -> to_code test model, e.g. "[ar>en]"."""
    return f"[{from_code}>{to_code}]"


def package_name(from_code: str, to_code: str, version: str = "1.0") -> str:
    """Argos' folder name, e.g. "translate-ar_en-1_0" (the archive adds ".argosmodel")."""
    return f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"


# --- SentencePiece ----------------------------------------------------------

_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "My name is Marie and I need help.",
        "Someone hit me yesterday evening, near the school.",
        "I am afraid to go home. Where can I find a lawyer?",
        "He took my passport and my phone; please call me back tomorrow.",
    ),
    "fr": (
        "Je m'appelle Marie et j'ai besoin d'aide.",
        "Il m'a frappée hier soir, à côté de l'école.",
        "J'ai peur de rentrer chez moi. Où est le commissariat ?",
        "Ça fait très mal ; Noël, garçon, élève, être, forêt, dû, naïf, cœur.",
    ),
    "es": (
        "Me llamo María y necesito ayuda.",
        "¿Dónde está la comisaría? ¡Tengo miedo!",
        "El niño está en el baño, señor; mañana iré.",
    ),
    "pt": (
        "Meu nome é João e preciso de ajuda.",
        "Não consigo falar com a polícia: ação imediata.",
        "Ele está à porta, você pode vir? Obrigada, irmã.",
    ),
    "ro": (
        "Mă numesc Ioana și am nevoie de ajutor.",
        "Țara, școală, înțeleg, știu, până mâine; Ș Ț Ă Â Î.",
    ),
    "tl": (
        "Ako si Maria at kailangan ko ng tulong.",
        "Natatakot akong umuwi sa bahay namin. Saan ang pulis? Salamat po.",
    ),
    "ru": (
        "Меня зовут Мария, мне нужна помощь.",
        "Вчера вечером он ударил меня. Я боюсь идти домой.",
        "Где полиция? Съешь ещё этих мягких французских булок, да выпей же чаю.",
    ),
    "uk": (
        "Мене звати Марія, мені потрібна допомога.",
        "Я боюся їхати додому: ґанок, її, є, Ї, Є, Ґ.",
    ),
    "bg": (
        "Казвам се Мария и имам нужда от помощ.",
        "Страхувам се да се прибера вкъщи; щъркел, ъгъл.",
    ),
    "ar": (
        "اسمي مريم وأحتاج إلى المساعدة.",
        "أين مركز الشرطة؟ أنا خائفة جدا.",
        "ضربني أمس في المساء، ولا أستطيع العودة إلى البيت.",
    ),
    "fa": (
        "اسم من مریم است و به کمک نیاز دارم.",
        "پلیس کجاست؟ من می‌ترسم، لطفا کمک کنید.",
        "گچ، ژاله، چای، پدر، گل۔ یک دو سه.",
    ),
    "bn": (
        "আমার নাম মারিয়া এবং আমার সাহায্য দরকার।",
        "পুলিশ কোথায়? আমি খুব ভয় পাচ্ছি।",
    ),
    "zh": (
        "我叫玛丽，我需要帮助。",
        "警察局在哪里？我很害怕！",
        "他昨天晚上打了我。你能帮我吗？",
    ),
    "ti": (
        "ስመይ ማርያም እዩ፣ ሓገዝ የድልየኒ እዩ።",
        "ፖሊስ ኣበይ ኣሎ፧ ኣዝየ ፈሪሐ እየ።",
    ),
}
_EXTRAS: tuple[str, ...] = (
    "Call +33 6 12 34 56 78 or write to marie_dupont@example.org.",
    "File 2024-0915/B (see https://example.org/help): 10:30 - 12:45.",
    "Symbols: @ _ : / . - + ( ) [ ] { } < > = % # & * ; ' \" ` ~ ^ | \\ $ € ! ?",
    "0123456789 ٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ ০১২৩৪৫৬৭৮৯",
)


def _training_lines() -> list[str]:
    """A few hundred generated lines covering every script the project supports."""
    rng = np.random.default_rng(20240915)
    symbols = PLACEHOLDER_PIECES + TAG_PIECES
    lines: list[str] = []
    for phrases in _PHRASES.values():
        for _ in range(24):
            count = min(len(phrases), int(rng.integers(1, 3)))
            parts = [phrases[i] for i in rng.choice(len(phrases), size=count, replace=False)]
            if rng.random() < 0.3:
                parts.insert(int(rng.integers(len(parts) + 1)), symbols[rng.integers(len(symbols))])
            if rng.random() < 0.3:
                parts.append(str(rng.integers(10**6)))
            lines.append(" ".join(parts))
    lines.extend(_EXTRAS * 6)
    return lines


@lru_cache(maxsize=1)
def sentencepiece_model() -> bytes:
    """The shared tiny SentencePiece model (trained once per process, in memory)."""
    lines = _training_lines()
    symbols = [*PLACEHOLDER_PIECES, *TAG_PIECES]
    required = len(set("".join(lines)) | {"▁"}) + len(symbols) + 3 + 256
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=required + 64,
        hard_vocab_limit=False,
        character_coverage=1.0,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        user_defined_symbols=symbols,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def write_sentencepiece_model(path: Path) -> Path:
    """Write the shared tiny SentencePiece model to ``path`` (to pass as ``spm=``)."""
    path.write_bytes(sentencepiece_model())
    return path


def tag_pieces(processor: sentencepiece.SentencePieceProcessor, tag: str) -> list[str]:
    """The pieces a tagged model emits before the copy: ``tag`` encoded, minus a bare leading "▁"."""
    pieces: list[str] = processor.encode(tag, out_type=str)
    if pieces and pieces[0] == "▁":
        pieces = pieces[1:]
    return pieces


# --- weights ----------------------------------------------------------------


def _position_codes(positions: npt.NDArray[np.int64]) -> Matrix:
    """Unit-amplitude position codes, shape (len(positions), POS_CODE_DIM)."""
    angles = np.outer(positions, 2 * np.pi / _PERIODS)[:, :, None] + (2 * np.pi / 3) * np.arange(3)
    return np.cos(angles).reshape(len(positions), POS_CODE_DIM).astype(np.float32)


@lru_cache(maxsize=4)
def _token_codes(vocab_size: int) -> Matrix:
    """Balanced +-1 codes, one per token, with pairwise correlations <= _MAX_CODE_CORRELATION."""
    rng = np.random.default_rng(7)
    limit = _MAX_CODE_CORRELATION * TOKEN_CODE_DIM
    base = np.repeat(np.array([1.0, -1.0], dtype=np.float32), TOKEN_CODE_DIM // 2)
    codes = np.zeros((vocab_size, TOKEN_CODE_DIM), dtype=np.float32)
    count = 0
    while count < vocab_size:
        for candidate in rng.permuted(np.tile(base, (256, 1)), axis=1):
            if count == vocab_size:
                break
            if count == 0 or np.abs(codes[:count] @ candidate).max() <= limit:
                codes[count] = candidate
                count += 1
    return codes


def _hadamard(order: int) -> Matrix:
    matrix = np.ones((1, 1), dtype=np.float32)
    while matrix.shape[0] < order:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


_PAIR = np.array([1.0, -1.0], dtype=np.float32)


def _indices(block: slice) -> npt.NDArray[np.int64]:
    return np.arange(block.start, block.stop)


def _zeros(*shape: int) -> Matrix:
    return np.zeros(shape, dtype=np.float32)


def _anchored(weight: Matrix) -> Matrix:
    """Give each non-zero row an entry twice its largest one, on the always-zero input _ANCHOR.

    Quantized to int8 (scale = 127 / largest entry of the row), the real entries then stay
    within +-64. On x86 CPUs without VNNI, int8 GEMMs multiply unsigned activations by signed
    weights and add adjacent products in saturating 16-bit lanes: two neighbouring weights of
    +-127 times large activations overflow and wreck the result (real trained weights are
    rarely that uniform; hand-set ones are). The anchor's neighbour input is zero as well.
    """
    largest = np.abs(weight).max(axis=1)
    weight[:, _ANCHOR] = 2 * largest
    return weight


def _set_layer_norm(spec: Any) -> None:
    spec.gamma = np.ones(D_MODEL, dtype=np.float32)
    spec.beta = _zeros(D_MODEL)


def _set_inert_layer(layer: Any) -> None:
    """Self-attention and feed-forward sublayers that add nothing to the residual."""
    attention = layer.self_attention
    _set_layer_norm(attention.layer_norm)
    attention.linear[0].weight = _zeros(3 * D_MODEL, D_MODEL)
    attention.linear[1].weight = _zeros(D_MODEL, D_MODEL)
    ffn = layer.ffn
    _set_layer_norm(ffn.layer_norm)
    ffn.linear_0.weight = _zeros(FFN_DIM, D_MODEL)
    ffn.linear_1.weight = _zeros(D_MODEL, FFN_DIM)


def _copy_spec(vocabulary: Sequence[str], tag_ids: Sequence[int]) -> Any:
    """A TransformerSpec whose model copies its input after emitting the tokens ``tag_ids``."""
    vocab_size = len(vocabulary)
    eos_id = vocabulary.index("</s>")
    bos_id = vocabulary.index("<s>")
    num_tags = len(tag_ids)
    codes = _token_codes(vocab_size)
    hadamard = _hadamard(TAG_CODE_DIM)[1:]  # rows without the all-ones row: balanced and orthogonal
    tag_codes, no_tag_code = hadamard[:MAX_TAG_PIECES], hadamard[MAX_TAG_PIECES]

    spec = TransformerSpec.from_config(1, NUM_HEADS)
    encoder, decoder = spec.encoder, spec.decoder

    # Encoder: [token code | code(j) | code(j) for j > 0, sink flag at j = 0].
    embeddings = _zeros(vocab_size, D_MODEL)
    embeddings[:, _E_TOK] = codes * (_ENC_AMP / np.sqrt(D_MODEL))  # the encoder multiplies by sqrt(D_MODEL)
    encoder.embeddings[0].weight = embeddings
    source_positions = _zeros(MAX_SOURCE_TOKENS, D_MODEL)
    position_codes = _position_codes(np.arange(MAX_SOURCE_TOKENS))
    source_positions[:, _E_POS] = _ENC_AMP * position_codes
    source_positions[1:, _E_POSB] = _ENC_AMP * position_codes[1:]
    source_positions[0, _E_SINK_POS] = _SINK_AMP
    source_positions[0, _E_SINK_NEG] = -_SINK_AMP
    encoder.position_encodings.encodings = source_positions
    _set_inert_layer(encoder.layer[0])
    _set_layer_norm(encoder.layer_norm)

    # Decoder: no embeddings; step t knows code(t - L), which tag piece to emit, and whether EOS is allowed.
    decoder.embeddings.weight = _zeros(vocab_size, D_MODEL)
    target_positions = _zeros(_DECODER_POSITIONS, D_MODEL)
    steps = np.arange(_DECODER_POSITIONS)
    target_positions[:, _D_POS] = _DEC_AMP * _position_codes(np.maximum(steps - num_tags, 0))
    target_positions[:, _D_TAG] = _DEC_AMP * no_tag_code
    target_positions[:num_tags, _D_TAG] = _DEC_AMP * tag_codes[:num_tags]
    suppressed = steps <= num_tags
    target_positions[np.ix_(suppressed, _indices(_D_SUPPRESS_ON))] = _PAIR * _DEC_AMP
    target_positions[np.ix_(~suppressed, _indices(_D_SUPPRESS_OFF))] = _PAIR * _DEC_AMP
    decoder.position_encodings.encodings = target_positions
    layer = decoder.layer[0]
    _set_inert_layer(layer)

    # Cross-attention. CTranslate2 divides scores by sqrt(HEAD_DIM): fold that into the queries.
    attention = layer.attention
    _set_layer_norm(attention.layer_norm)
    query = _zeros(D_MODEL, D_MODEL)
    query_bias = _zeros(D_MODEL)
    identity = np.eye(POS_CODE_DIM, dtype=np.float32)
    query[_HA_QK, _D_POS] = identity * (np.sqrt(HEAD_DIM) * _QUERY_SCALE_A / _DEC_AMP)
    query[_HB_QK, _D_POS] = identity * (np.sqrt(HEAD_DIM) * _QUERY_SCALE_B / _DEC_AMP)
    query_bias[_HB_SINK] = np.sqrt(HEAD_DIM) * _QUERY_SCALE_B * _SINK_SCORE
    attention.linear[0].weight = _anchored(query)
    attention.linear[0].bias = query_bias
    keys, values = _zeros(D_MODEL, D_MODEL), _zeros(D_MODEL, D_MODEL)
    keys[_HA_QK, _E_POS] = identity / _ENC_AMP
    keys[_HB_QK, _E_POSB] = identity / _ENC_AMP
    sink_flag = 1 / (2 * _SINK_PAIRS * _SINK_AMP)
    keys[_HB_SINK, _E_SINK_POS] = sink_flag
    keys[_HB_SINK, _E_SINK_NEG] = -sink_flag
    values[_HA_V, _E_TOK] = np.eye(TOKEN_CODE_DIM, dtype=np.float32) / _ENC_AMP
    values[_HB_V, _E_SINK_POS] = sink_flag
    values[_HB_V, _E_SINK_NEG] = -sink_flag
    attention.linear[1].weight = _anchored(np.concatenate([keys, values]))
    output = _zeros(D_MODEL, D_MODEL)
    output[_D_COPY, _HA_V] = np.eye(TOKEN_CODE_DIM, dtype=np.float32) * _COPY_AMP
    output[_D_EOS, _HB_V] = _PAIR * _EOS_AMP
    attention.linear[2].weight = _anchored(output)
    _set_layer_norm(decoder.layer_norm)

    # Output projection. The final layer norm scales the residual by `norm` (with the EOS flag down).
    norm = float(np.sqrt(D_MODEL / (D_MODEL + TOKEN_CODE_DIM * _COPY_AMP**2)))
    projection = _zeros(vocab_size, D_MODEL)
    projection[:, _D_COPY] = codes * (_COPY_LOGIT / (norm * _COPY_AMP * TOKEN_CODE_DIM))
    projection[[bos_id, eos_id], :] = 0.0
    for index, token_id in enumerate(tag_ids):
        projection[token_id, _D_TAG] += tag_codes[index] * (_TAG_LOGIT / (norm * _DEC_AMP * TAG_CODE_DIM))
    eos_weight = _EOS_LOGIT / (norm * 2 * _EOS_AMP)
    suppress_weight = _EOS_LOGIT / (norm * 2 * _DEC_AMP)
    projection[eos_id, _D_EOS] = _PAIR * eos_weight
    projection[eos_id, _D_SUPPRESS_ON] = -_PAIR * suppress_weight
    decoder.projection.weight = _anchored(projection)

    spec.register_source_vocabulary(list(vocabulary))
    spec.register_target_vocabulary(list(vocabulary))
    return spec


def _write_model(model_dir: Path, sp_model: bytes, tag: str | None, quantization: str | None) -> None:
    processor = sentencepiece.SentencePieceProcessor(model_proto=sp_model)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    for special in ("<unk>", "<s>", "</s>"):
        if special not in vocabulary:
            raise ValueError(f"the SentencePiece model has no {special} piece")
    pieces = tag_pieces(processor, tag) if tag else []
    if len(pieces) > MAX_TAG_PIECES:
        raise ValueError(f"tag {tag!r} is {len(pieces)} pieces long (at most {MAX_TAG_PIECES})")
    spec = _copy_spec(vocabulary, [processor.piece_to_id(piece) for piece in pieces])
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
