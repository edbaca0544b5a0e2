"""The tiny models' vocabulary: one SentencePiece model shared by every package (byte fallback, so any
text round-trips), with a piece for each language tag and placeholder."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
import sentencepiece

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
