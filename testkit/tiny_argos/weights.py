"""The tiny models' weights, set by hand so that the model copies its input.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from ctranslate2.specs import TransformerSpec

from testkit.tiny_argos.vocabulary import MAX_SOURCE_TOKENS, MAX_TAG_PIECES

Matrix = npt.NDArray[np.float32]

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


def copy_spec(vocabulary: Sequence[str], tag_ids: Sequence[int]) -> Any:  # noqa: PLR0915 (one weight a line)
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
