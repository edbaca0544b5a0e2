"""The real offline translation path: Argos packages built here, installed, loaded by CTranslate2."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app.settings import Settings
from bot.engine import Msg
from bot.errors import ConfigError
from bot.transcript.writer import read_transcript
from bot.translation import packages
from bot.translation.argos import ArgosTranslator, discover
from bot.translation.port import NoTranslationPath, Route, TranslationError
from storage.crypto import RecipientPrivateKey
from storage.models import Conversation
from testkit.accueil import operator_env, run_accueil
from testkit.fake_bot_api import FakeBotAPI
from testkit.telegram import TOKEN, Victim, running_bot
from testkit.tiny_argos import build_package


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tagged copy models (the tag shows which model ran) and untagged ones (identity)."""
    out = tmp_path_factory.mktemp("argosmodels")
    tagged = out / "tagged"
    plain = out / "plain"
    tagged.mkdir()
    plain.mkdir()
    pairs = (("ar", "en"), ("en", "fr"), ("de", "en"), ("en", "de"))
    files = {f"{s}-{t}": build_package(tagged, s, t, tag=f"[{s}>{t}]") for s, t in pairs}
    files |= {f"plain:{s}-{t}": build_package(plain, s, t) for s, t in (("ru", "en"), ("en", "fr"))}
    return files


def _install(files: dict[str, Path], names: list[str], models_dir: Path) -> Path:
    for name in names:
        packages.install(files[name], models_dir)
    return models_dir


@pytest.fixture
def translator(model_files: dict[str, Path], tmp_path: Path) -> Iterator[ArgosTranslator]:
    models = _install(model_files, ["ar-en", "en-fr"], tmp_path / "models")
    loaded = ArgosTranslator(models)
    yield loaded
    loaded.close()


async def test_arabic_reaches_french_through_english_with_spans_intact(translator: ArgosTranslator) -> None:
    assert translator.route("ar", "fr") == Route((("ar", "en"), ("en", "fr")))
    text = "اتصلوا بي على +33 6 12 34 56 78 أو marie_dupont@example.org"
    result = await translator.translate(text, "ar", "fr")
    assert result.text == f"[en>fr] [ar>en] {text}"
    assert result.machine and result.route.kind == "via English"


async def test_each_sentence_of_every_script_is_translated_and_rejoined(translator: ArgosTranslator) -> None:
    text = "مرحبا؟ كيف حالك۔\nجيد، شكرا"
    result = await translator.translate(text, "ar", "fr")
    assert result.text == "[en>fr] [ar>en] مرحبا؟ [en>fr] [ar>en] كيف حالك۔\n[en>fr] [ar>en] جيد، شكرا"


async def test_a_message_of_4096_characters_comes_back_whole(model_files: dict[str, Path], tmp_path: Path) -> None:
    models = _install(model_files, ["plain:ru-en", "plain:en-fr"], tmp_path / "models")
    identity = ArgosTranslator(models)
    try:
        sentence = "Меня зовут Анна, мой номер 06 12 34 56 78, я работала без оплаты два года. "
        text = (sentence * 60)[:4096]
        assert len(text) == 4096
        result = await identity.translate(text, "ru", "fr")
        assert result.text == text
    finally:
        identity.close()


async def test_many_conversations_at_once_are_batched_and_each_gets_its_own_text(
    translator: ArgosTranslator,
) -> None:
    texts = [f"رسالة رقم {i} من محادثة {i * 7}" for i in range(64)]
    results = await asyncio.gather(*(translator.translate(t, "ar", "en") for t in texts))
    assert [r.text for r in results] == [f"[ar>en] {t}" for t in texts]
    batches = translator.stats()["batches"]["ar-en"]
    assert 1 <= batches < 64 // 4  # grouped into a few CTranslate2 calls, not one per conversation


async def test_translations_are_cached(translator: ArgosTranslator) -> None:
    first = await translator.translate("نعم", "ar", "en")
    before = translator.stats()["batches"]["ar-en"]
    again = await translator.translate("نعم", "ar", "en")
    assert again.text == first.text == "[ar>en] نعم"
    assert translator.stats()["batches"]["ar-en"] == before


async def test_no_path_and_the_same_language(translator: ArgosTranslator) -> None:
    with pytest.raises(NoTranslationPath):
        await translator.translate("ሰላም", "ti", "fr")
    same = await translator.translate("Bonjour", "fr", "fr")
    assert same.text == "Bonjour" and not same.machine


async def test_no_network_is_touched(translator: ArgosTranslator, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the translator tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = await translator.translate("مرحبا. شكرا", "ar", "fr")
    assert result.text == "[en>fr] [ar>en] مرحبا. [en>fr] [ar>en] شكرا"
    assert "argostranslate.translate" not in sys.modules and "argostranslate.sbd" not in sys.modules
    assert "onnxruntime" not in sys.modules
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"


async def test_a_model_that_fails_to_load_is_reported_and_dropped(model_files: dict[str, Path], tmp_path: Path) -> None:
    models = _install(model_files, ["ar-en", "en-fr"], tmp_path / "models")
    (models / "translate-ar_en" / "model" / "model.bin").write_bytes(b"not a model")
    broken = ArgosTranslator(models)
    try:
        with pytest.raises(TranslationError):
            await broken.translate("مرحبا", "ar", "en")
        assert broken.route("ar", "fr") is None  # no longer offered
        assert (await broken.translate("hello", "en", "fr")).text == "[en>fr] hello"
    finally:
        broken.close()


def test_half_installed_and_unsafe_packages(model_files: dict[str, Path], tmp_path: Path) -> None:
    models = _install(model_files, ["ar-en"], tmp_path / "models")
    (models / "translate-ar_en" / "model" / "model.bin").unlink()
    (models / "stray").mkdir()
    installed, broken = discover(models)
    assert installed == []
    assert sorted((b.path.name, b.reason) for b in broken) == [
        ("stray", "no metadata.json"),
        ("translate-ar_en", "no model/model.bin (half-installed?)"),
    ]
    evil = tmp_path / "evil.argosmodel"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("pkg/metadata.json", "{}")
        archive.writestr("pkg/../../outside.txt", "x")
    with pytest.raises(ConfigError, match="not a safe archive"):
        packages.install(evil, models)
    assert not (tmp_path / "outside.txt").exists()
    with pytest.raises(ConfigError, match="not an Argos package"):
        packages.install(tmp_path / "evil.argosmodel.missing", models)


def _accueil(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_accueil(*args, env=operator_env(ACCUEIL_DATA_DIR=str(tmp_path / "data"), **env), timeout=120)


def test_models_commands_and_the_capability_matrix(model_files: dict[str, Path], tmp_path: Path) -> None:
    installed = _accueil(tmp_path, "models", "install", str(model_files["ar-en"]), str(model_files["en-fr"]))
    assert installed.returncode == 0, installed.stderr
    assert "installed ar-en 1.0" in installed.stdout and "installed en-fr 1.0" in installed.stdout
    assert "100%" in installed.stderr
    listed = _accueil(tmp_path, "models", "list")
    assert [line.split()[:2] for line in listed.stdout.splitlines()[1:]] == [["ar-en", "1.0"], ["en-fr", "1.0"]]
    matrix = {line.split()[0]: line.split() for line in _accueil(tmp_path, "languages").stdout.splitlines()[1:]}
    assert len(matrix) == 14
    assert matrix["ar"][2:] == ["draft", "via", "English", "none", "0"]
    assert matrix["en"][2:] == ["draft", "direct", "none", "0"]
    assert matrix["fr"][2:] == ["draft", "same", "same", "0"]
    assert matrix["ti"][2:] == ["draft", "none", "none", "0"]
    removed = _accueil(tmp_path, "models", "remove", "ar-en")
    assert removed.returncode == 0
    assert _accueil(tmp_path, "models", "remove", "ar-en").returncode == 2
    offline = _accueil(tmp_path, "models", "download", "ar", ARGOS_PACKAGE_INDEX="http://127.0.0.1:9/")
    assert offline.returncode == 2
    assert offline.stderr.strip().splitlines()[-1].startswith("accueil: cannot reach the Argos package index")
    assert "Traceback" not in offline.stderr


@pytest.mark.parametrize("with_models", [True, False])
async def test_an_arabic_speaking_victim_on_telegram_is_translated_through_english_or_needs_an_interpreter(
    settings: Settings,
    recipient: RecipientPrivateKey,
    model_files: dict[str, Path],
    tmp_path: Path,
    with_models: bool,
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    if with_models:
        _install(model_files, ["ar-en", "en-fr"], models)
    configured = replace(settings, models_dir=models)
    words = "أعمل في مطعم بدون أجر. رقمي +33 6 12 34 56 78"
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured) as running:
        victim = Victim(api, user_id=3001)
        victim.write("مرحبا")
        await victim.answer("العربية")
        await victim.question()
        victim.write(words)
        await victim.question()
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalar_one()
            entries = await read_transcript(session, case.public_id, recipient)
    said = [(e.text, e.translation, e.machine_translated) for e in entries if e.who == "victim" and e.kind == "message"]
    if with_models:
        assert said[-1] == (
            words,
            "[en>fr] [ar>en] أعمل في مطعم بدون أجر. [en>fr] [ar>en] رقمي +33 6 12 34 56 78",
            True,
        )
        assert case.interpreter_needed is False
    else:
        assert said[-1] == (words, None, False)
        assert case.interpreter_needed is True


async def test_a_language_without_a_catalog_is_offered_and_spoken_through_machine_translated_prompts(
    settings: Settings, recipient: RecipientPrivateKey, model_files: dict[str, Path], tmp_path: Path
) -> None:
    models = _install(model_files, ["de-en", "en-de", "en-fr"], tmp_path / "models")
    configured = replace(settings, models_dir=models)
    async with FakeBotAPI(token=TOKEN) as api, running_bot(api, configured) as running:
        catalogs = running.core.content.catalogs
        assert "de" not in catalogs
        victim = Victim(api, user_id=3101)
        victim.write("Hallo, ich brauche dringend Hilfe. Ich habe keine Wohnung und keine Papiere.")
        language = await victim.question()
        assert language.inline_keyboard[0][0]["text"] == "Deutsch"  # guessed, offered first
        assert language.text == "[en>de] Choisissez votre langue.\n[en>de] Choose your language."
        victim.press(language, "Deutsch")
        safety = await victim.question()
        texts = victim.texts()
        told = [i for i, t in enumerate(texts) if t.startswith("[en>de] There is no human translation")]
        assert len(told) == 1 and told[0] < texts.index(safety.said)  # told once, in German, before the prompts
        assert catalogs.render("en", Msg("mt.notice")).endswith(texts[told[0]].rpartition("[en>de] ")[2])
        assert safety.text == "[en>de] " + catalogs.render("en", Msg("intake.safety.ask"))
        assert [b["text"] for b in safety.inline_keyboard[0]] == ["[en>de] Yes", "[en>de] No"]
        victim.press(safety, "[en>de] Yes")
        await victim.question()
        emergency = next(t for t in victim.texts() if "17" in t and "112" in t)
        assert "{police}" not in emergency and "PH_" not in emergency  # placeholders filled in, numbers intact
        victim.write("/human")
        await api.wait_until(lambda: (running.core.settings.office_hours.always and len(victim.texts()) >= 8), 10)
        await api.wait_updates_consumed()
        before = len(victim.texts())
        victim.write("Ich schlafe seit einer Woche im Bahnhof.")
        await api.wait_until(lambda: len(victim.texts()) > before, 10)  # "your message is kept", in German
        async with running.core.sessions() as session:
            case = (await session.execute(select(Conversation))).scalar_one()
            entries = await read_transcript(session, case.public_id, recipient)
    said = [(e.text, e.translation) for e in entries if e.who == "victim" and e.kind == "message"]
    words = "Ich schlafe seit einer Woche im Bahnhof."
    assert (words, f"[en>fr] [de>en] {words}") in said
    summary = next(e.text or "" for e in entries if e.kind == "summary")
    assert "questions traduites automatiquement de l'anglais" in summary
