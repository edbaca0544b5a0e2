"""Transcripts decrypted in the browser: the built worker and crypto in Debian's Chromium, against the Python side.

A test page (served with the web side's strict headers from a real aiohttp server on a loopback port)
loads the built `dist/kat.js`; the worker is the built `dist/worker.js`. Nothing here builds anything:
without `make web` the module skips with one line.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import FilePayload, Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import TranscriptUnreadable
from bot.transcript.bundle import sealed_bundle
from bot.transcript.writer import Entry, TranscriptWriter, read_transcript
from bot.web.server import WebOptions, make_app
from storage import crypto, keystore
from storage import transcripts as repo
from storage.crypto import GENESIS, RecipientPrivateKey, ServerKey, ShredKey
from storage.db import make_engine, session_factory, upgrade
from storage.digests import case_entry_info
from storage.models import Conversation
from testkit.browser import Recorder, chromium, needs_chromium, page_in
from testkit.databases import bare_case

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "bot" / "console" / "static" / "dist"
VECTOR = json.loads((Path(__file__).parent / "xwing_vector.json").read_text())
PASSPHRASE = "seven tired owls read the ledger"
SERVER = ServerKey(bytes(range(32)))
CASE = "K7QM-2XPA"
Sessions = async_sessionmaker[AsyncSession]

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(not (DIST / "worker.js").exists(), reason="run `make web` first (needs Node.js 20+)"),
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Known answers</title>
<script type="module" src="dist/kat.js"></script></head>
<body><input type="file" id="key-file"><input type="password" id="passphrase"></body></html>
"""

# Runs a Keyring call in the page; a rejection comes back as {"error": message}.
CALL = """async ([op, arg]) => {
  const kat = globalThis.accueilKat
  const calls = {
    open: () => kat.keyring.open(arg),
    openCase: () => kat.openCase(arg),
    unlock: () => kat.unlockFromPage(arg),
    wipe: () => kat.keyring.wipe(),
  }
  try { return { result: await calls[op]() } } catch (e) { return { error: e.message } }
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Site:
    """The test page, the built files, and the bundles a test puts up (as the console's server would)."""

    def __init__(self) -> None:
        self.bundles: dict[str, Any] = {}
        self.app = web.Application()
        self.app.router.add_get("/", self._page)
        self.app.router.add_get("/dist/{name}", self._dist)
        self.app.router.add_get("/bundle/{name}", self._bundle)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def _dist(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in json.loads((DIST / "manifest.json").read_text()):
            raise web.HTTPNotFound()
        return web.Response(body=(DIST / name).read_bytes(), content_type="text/javascript")

    async def _bundle(self, request: web.Request) -> web.Response:
        found = self.bundles.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.json_response(found)


@contextlib.asynccontextmanager
async def kat_page(site: Site) -> AsyncIterator[tuple[Page, Recorder, str]]:
    # The web side's root application and headers (strict CSP, no referrer, no-store), on a free port.
    runner = web.AppRunner(make_app(WebOptions(), {"/t/": site.app}), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}/t/"
    try:
        async with chromium() as browser, page_in(browser) as (page, recorder):
            await page.goto(base)
            await page.wait_for_function("document.documentElement.dataset.ready === 'yes'")
            yield page, recorder, base
    finally:
        await runner.cleanup()


async def call(page: Page, op: str, arg: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = await page.evaluate(CALL, [op, arg])
    return answer


async def unlock(page: Page, key_file: bytes, passphrase: str, idle: float = 600) -> dict[str, Any]:
    """As a caseworker does: the file chosen in the page, the passphrase typed."""
    chosen: FilePayload = {"name": "me.key", "mimeType": "application/json", "buffer": key_file}
    await page.set_input_files("#key-file", files=[chosen])
    await page.fill("#passphrase", passphrase)
    return await call(page, "unlock", idle)


async def kat(page: Page, name: str, *args: Any) -> Any:
    return await page.evaluate(f"(args) => globalThis.accueilKat.{name}(...args)", list(args))


# --- known answers, both ways -------------------------------------------------------------------


async def test_the_browser_computes_what_python_computes() -> None:
    seed, old = bytes(range(32)), bytes(range(96))
    async with kat_page(Site()) as (page, _, _):
        # The published X-Wing vector: seed -> public key; deterministic encapsulation; decapsulation.
        assert (await kat(page, "publicOf", b64(bytes.fromhex(VECTOR["sk"]))))["public"] == b64(
            bytes.fromhex(VECTOR["pk"])
        )
        assert await kat(page, "encapsulate", VECTOR["pk"], VECTOR["eseed"]) == {"ss": VECTOR["ss"], "ct": VECTOR["ct"]}
        expanded = hashlib.shake_256(bytes.fromhex(VECTOR["sk"])).digest(96).hex()
        for secret in (VECTOR["sk"], expanded):
            assert await kat(page, "decapsulate", secret, VECTOR["ct"]) == VECTOR["ss"]
        # Fixed secrets of both forms: the same public key and key id as Python's, the same expansion.
        for secret in (seed, old):
            key = RecipientPrivateKey(secret)
            found = await kat(page, "publicOf", b64(secret))
            assert found["public"] == b64(key.public.raw) and found["keyId"] == key.key_id
            assert await kat(page, "keyIdOf", b64(key.public.raw)) == key.key_id
        assert (await kat(page, "publicOf", b64(seed)))["expanded"] == b64(hashlib.shake_256(seed).digest(96))

        # Python seals to a key; the browser opens.
        key = RecipientPrivateKey(seed)
        info = case_entry_info(CASE, 1, 0, GENESIS)
        blob = crypto.seal_case_entry(key.public, CASE, 1, 0, GENESIS, "entrée 🙂".encode())
        assert base64.b64decode(await kat(page, "open", b64(seed), b64(blob[1:]), b64(info))) == "entrée 🙂".encode()

        # The browser seals to a Python public key; Python opens, with its own verbs.
        previous = hashlib.sha256(b"an earlier entry").digest()
        info = case_entry_info(CASE, 2, 7, previous)
        sealed = base64.b64decode(await kat(page, "seal", b64(key.public.raw), b64(b"from the browser"), b64(info)))
        assert crypto.open_case_entry(key, CASE, 2, 7, previous, b"\x02" + sealed) == b"from the browser"
        case_key, shred = crypto.new_case_key(), ShredKey.generate()
        context = f"accueil/case-key/v2|key={key.key_id}|case={CASE}|epoch=3|public={case_key.key_id}"
        sealed_wrap = await kat(page, "seal", b64(key.public.raw), b64(case_key._secret), b64(context.encode()))
        wrap = base64.b64decode(sealed_wrap)
        unwrapped = crypto.unwrap_case_key(shred.seal(wrap, context), key, shred, CASE, 3, case_key.public.raw)
        assert unwrapped.public.raw == case_key.public.raw

        # The digests of both formats.
        assert await kat(page, "entryDigest", CASE, 4, previous.hex(), b64(b"sealed")) == crypto.entry_digest(
            CASE, 4, previous, b"sealed"
        ).hex()
        assert await kat(page, "caseEntryDigest", CASE, 2, 4, previous.hex(), b64(blob)) == crypto.case_entry_digest(
            CASE, 2, 4, previous, blob
        ).hex()


def _sealed_by_python(key: RecipientPrivateKey) -> tuple[dict[str, Any], list[Entry]]:
    """A bundle made with Python's own verbs: two v1 entries, then epoch 1 (a seed case key), then epoch 2 (an
    older 96-byte case key)."""
    at = "2026-12-03T10:00:00+00:00"
    entries = [Entry(who="victim", at=at, kind="message", text=f"line {i}") for i in range(5)]
    chain_key, previous, rows = crypto.new_chain_key(), GENESIS, []
    wrapped_chain = crypto.wrap_chain_key(chain_key, key.public, CASE)
    for seq in (0, 1):
        sealed = crypto.seal_entry(chain_key, CASE, seq, previous, entries[seq].to_bytes())
        previous, chain_key = crypto.entry_digest(CASE, seq, previous, sealed), crypto.next_chain_key(chain_key)
        rows.append({"seq": seq, "epoch": 0, "sealed": b64(sealed)})
    epochs = []
    old_form = RecipientPrivateKey(secrets.token_bytes(96))
    for epoch, case_key, seqs in ((1, crypto.new_case_key(), (2, 3)), (2, old_form, (4,))):
        shred = ShredKey.generate()
        wrapped = crypto.wrap_case_key(case_key, key.public, shred, CASE, epoch)
        unshredded = crypto.unshred_case_key(wrapped, shred, key.key_id, CASE, epoch, case_key.public.raw)
        epochs.append({"epoch": epoch, "public": b64(case_key.public.raw), "wrap": b64(unshredded)})
        for seq in seqs:
            sealed = crypto.seal_case_entry(case_key.public, CASE, epoch, seq, previous, entries[seq].to_bytes())
            previous = crypto.case_entry_digest(CASE, epoch, seq, previous, sealed)
            rows.append({"seq": seq, "epoch": epoch, "sealed": b64(sealed)})
    bundle = {
        "format": "accueil-transcript-bundle/v1",
        "case": CASE,
        "key_id": key.key_id,
        "chain_key": b64(wrapped_chain),
        "epochs": epochs,
        "entries": rows,
        "head": {"next_seq": 5, "last_digest": previous.hex()},
    }
    return bundle, entries


@pytest.mark.parametrize("size", [32, 96])
async def test_the_worker_opens_v1_and_v2_entries_python_sealed_with_a_key_file_of_either_form(size: int) -> None:
    key = RecipientPrivateKey(secrets.token_bytes(size))
    bundle, entries = _sealed_by_python(key)
    async with kat_page(Site()) as (page, _, _):
        unlocked = await unlock(page, key.to_file_bytes(PASSPHRASE, n=2**14), PASSPHRASE)
        assert unlocked == {"result": {"keyId": key.key_id, "label": None}}
        opened = (await call(page, "open", bundle))["result"]
        assert opened["entries"] == [dataclasses.asdict(entry) for entry in entries]
        assert opened["head"] == {"seq": 5, "digest": bundle["head"]["last_digest"]} and opened["warning"] is None

        # A wrap that opens but holds another key than the epoch's public one is refused.
        other = crypto.new_case_key()
        public = base64.b64decode(bundle["epochs"][0]["public"])
        context = f"accueil/case-key/v2|key={key.key_id}|case={CASE}|epoch=1|public={crypto.key_id_of(public)}"
        forged = crypto._SUITE.encrypt(other._secret, key.public._key, info=context.encode())
        swapped = json.loads(json.dumps(bundle))
        swapped["epochs"][0]["wrap"] = b64(forged)
        assert (await call(page, "open", swapped))["error"] == (
            f"the key of case {CASE} (epoch 1) does not match the epoch's public key"
        )


# --- a real transcript, from the writer on SQLite to the worker ---------------------------------


@contextlib.asynccontextmanager
async def database(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'accueil.db'}")
    await upgrade(engine)
    sessions = session_factory(engine)
    keystore.attach(sessions, tmp_path / "data")
    try:
        yield sessions
    finally:
        await engine.dispose()


CANARY = "Canari-7f3e: il est venu hier soir"


def _said(n: int) -> list[Entry]:
    at = "2026-12-03T10:00:00+00:00"
    return [
        Entry(who="victim", at=at, kind="message", text=CANARY, language="fr", translation="He came last night",
              machine_translated=True),
        Entry(who="bot", at=at, kind="answer", step="safe_now", answer={"choice": "no", "details": ["a", 1]}),
        Entry(who="victim", at=at, kind="media", name="photo.jpg", mime="image/jpeg", data=b64(b"\xff\xd8\xff jpeg"),
              caption="la porte", translation="the door"),
        Entry(who="caseworker", at=at, kind="message", text="Nous sommes là.", by="Amina"),
        Entry(who="system", at=at, kind="event", text="transferred"),
    ][:n]


async def _append(sessions: Sessions, conversation: Conversation, entries: list[Entry]) -> None:
    async with sessions.begin() as session:
        await TranscriptWriter(SERVER).append(session, conversation, entries)


async def _bundle(sessions: Sessions, conversation: Conversation, key: RecipientPrivateKey) -> dict[str, Any]:
    async with sessions() as session:
        return await sealed_bundle(session, conversation.public_id, key.key_id)


async def test_a_real_transcript_opens_in_the_worker_as_read_transcript_reads_it(tmp_path: Path) -> None:
    key, colleague = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    key_file = key.to_file_bytes(PASSPHRASE)  # as `accueil keys init` writes it (scrypt n = 2^17)
    site = Site()
    async with database(tmp_path) as sessions:
        conversation = await bare_case(sessions, key, colleague, language="fr")
        await _append(sessions, conversation, _said(2))
        await _append(sessions, conversation, _said(5)[2:])
        site.bundles["case"] = await _bundle(sessions, conversation, key)
        async with sessions() as session:
            expected = [dataclasses.asdict(e) for e in await read_transcript(session, conversation.public_id, key)]
    assert len(expected) == 5
    assert {e["key_id"] for e in [site.bundles["case"]]} == {key.key_id}
    async with kat_page(site) as (page, recorder, base):
        assert (await unlock(page, key_file, PASSPHRASE))["result"]["keyId"] == key.key_id
        opened = (await call(page, "openCase", base + "bundle/case"))["result"]
        assert opened["case"] == conversation.public_id and opened["entries"] == expected
        assert opened["warning"] is None and opened["head"]["seq"] == 5
        assert CANARY in json.dumps(opened, ensure_ascii=False)

    # Nothing secret crossed the wire: not the passphrase, not the key file, not what it opened.
    assert recorder.origins() == {base.removesuffix("/t/")}
    sent, received = recorder.sent(), recorder.received()
    sealed_secret = json.loads(key_file)["sealed"]
    for secret in (PASSPHRASE.encode(), key_file, sealed_secret.encode(), key_file[:64], CANARY.encode()):
        assert secret not in sent
    assert CANARY.encode() not in received and b"Canari" not in received
    assert any(seen.url.endswith("/bundle/case") for seen in recorder.seen)


async def test_the_bundle_carries_only_this_key_s_wraps_without_their_shred_layer(tmp_path: Path) -> None:
    key, colleague = RecipientPrivateKey.generate(), RecipientPrivateKey.generate()
    async with database(tmp_path) as sessions:
        conversation = await bare_case(sessions, key, colleague, language="fr")
        await _append(sessions, conversation, _said(3))
        bundle = await _bundle(sessions, conversation, key)
        async with sessions() as session:
            wraps = await repo.epoch_wraps(session, conversation.id)
        with pytest.raises(TranscriptUnreadable, match="cannot read case"):
            await _bundle(sessions, conversation, RecipientPrivateKey.generate())
    (epoch,) = bundle["epochs"]
    unshredded = base64.b64decode(epoch["wrap"])
    assert unshredded not in wraps.values() and len(unshredded) == 1120 + 32 + 16  # X-Wing, a seed, the tag
    assert all(base64.b64encode(w).decode() not in json.dumps(bundle) for w in wraps.values())
    public = base64.b64decode(epoch["public"])
    case_key = crypto.RecipientPrivateKey(
        crypto._SUITE.decrypt(unshredded, key._key, info=crypto._wrap_context(key.key_id, bundle["case"], 1,
                                                                             crypto.key_id_of(public)).encode())
    )
    assert case_key.public.raw == public  # HPKE to the recipient: the server held no case private key


# --- tampering, rollback, passphrase, idle ------------------------------------------------------


async def test_an_altered_bundle_is_refused_and_a_rolled_back_one_is_reported(tmp_path: Path) -> None:
    key = RecipientPrivateKey.generate()
    site = Site()
    async with database(tmp_path) as sessions:
        conversation = await bare_case(sessions, key, language="fr")
        await _append(sessions, conversation, _said(3))
        earlier = await _bundle(sessions, conversation, key)
        await _append(sessions, conversation, _said(5)[3:])
        later = await _bundle(sessions, conversation, key)
    case = conversation.public_id

    def altered(change: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(later))
        change(copy)
        return copy

    def flip(bundle: dict[str, Any]) -> None:
        blob = bytearray(base64.b64decode(bundle["entries"][3]["sealed"]))
        blob[-5] ^= 1
        bundle["entries"][3]["sealed"] = b64(bytes(blob))

    def move(bundle: dict[str, Any]) -> None:
        one, two = bundle["entries"][1], bundle["entries"][2]
        one["sealed"], two["sealed"] = two["sealed"], one["sealed"]

    cases = {
        "removed": (lambda b: b["entries"].pop(1), f"entry 1 is missing from case {case}"),
        "moved": (move, "entry 1 has been altered, moved or removed"),
        "altered": (flip, "entry 3 has been altered, moved or removed"),
        "cut": (lambda b: b["entries"].pop(), f"the last entries of case {case} are missing (1)"),
        "head": (lambda b: b["head"].update(last_digest="00" * 32), f"the last entries of case {case} are missing"),
        "other key": (lambda b: b.update(key_id="0123456789abcdef"), "was made for key 0123456789abcdef"),
        "other case": (lambda b: b.update(case="ZZZZ-ZZZZ"), "cannot open the key of case ZZZZ-ZZZZ (epoch 1)"),
        "not a bundle": (lambda b: b.pop("head"), "this is not a transcript the console can read"),
    }
    async with kat_page(site) as (page, _, _):
        await unlock(page, key.to_file_bytes(PASSPHRASE, n=2**14), PASSPHRASE)
        for name, (change, message) in cases.items():
            error = (await call(page, "open", altered(change))).get("error", "")
            assert message in error, name
        assert (await call(page, "open", later))["result"]["warning"] is None
        # The server sends the case as it was before its last two entries: reported, not hidden.
        rolled_back = (await call(page, "open", earlier))["result"]
        assert len(rolled_back["entries"]) == 3
        assert rolled_back["warning"] == (
            f"case {case}: 2 entries are missing since this page last read it (5 entries then, 3 now): "
            "the transcript was cut or rolled back"
        )
        # A server that re-seals an entry to the epoch's public key (it can: the key is public) and
        # recomputes the chain: the same length, another history.
        assert (await call(page, "open", _rewritten(later, 4)))["result"]["warning"] == (
            f"case {case}: the transcript differs from the one this page read before: it was rewritten"
        )
        # `wipe` forgets the heads too.
        await call(page, "wipe")
        await unlock(page, key.to_file_bytes(PASSPHRASE, n=2**14), PASSPHRASE)
        assert (await call(page, "open", earlier))["result"]["warning"] is None


def _rewritten(bundle: dict[str, Any], seq: int) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(bundle))
    case, epoch = copy["case"], copy["entries"][seq]["epoch"]
    public = crypto.RecipientPublicKey(base64.b64decode(copy["epochs"][-1]["public"]))
    previous = GENESIS
    for row in copy["entries"]:
        if row["seq"] == seq:
            text = Entry(who="victim", at="2026-12-03T11:00:00+00:00", kind="message", text="never said").to_bytes()
            row["sealed"] = b64(crypto.seal_case_entry(public, case, epoch, seq, previous, text))
        previous = crypto.case_entry_digest(case, row["epoch"], row["seq"], previous, base64.b64decode(row["sealed"]))
    copy["head"]["last_digest"] = previous.hex()
    return copy


async def test_a_wrong_passphrase_is_told_and_an_idle_key_is_wiped() -> None:
    key = RecipientPrivateKey.generate()
    bundle, _ = _sealed_by_python(key)
    key_file = key.to_file_bytes(PASSPHRASE, n=2**14)
    async with kat_page(Site()) as (page, _, _):
        assert await unlock(page, key_file, "not the passphrase") == {"error": "wrong passphrase for this key file"}
        assert await call(page, "open", bundle) == {"error": "the key is locked: open your key file again"}
        assert await unlock(page, b"{}", PASSPHRASE) == {"error": "this file is not an Accueil recipient key"}
        assert (await unlock(page, b"\x00" * 70000, PASSPHRASE))["error"].endswith("(too large)")
        costly = json.loads(key_file)
        costly["kdf"]["n"] = 2**22
        assert "scrypt cost outside" in (await unlock(page, json.dumps(costly).encode(), PASSPHRASE))["error"]

        assert "result" in await unlock(page, key_file, PASSPHRASE, idle=1.5)
        assert len((await call(page, "open", bundle))["result"]["entries"]) == 5
        await page.wait_for_timeout(2500)
        assert await call(page, "open", bundle) == {"error": "the key is locked: open your key file again"}

        assert "result" in await unlock(page, key_file, PASSPHRASE)
        assert await call(page, "wipe") == {"result": {}}
        assert await call(page, "open", bundle) == {"error": "the key is locked: open your key file again"}
