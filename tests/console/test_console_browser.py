"""The console in Debian's Chromium, against the real bot on the fake Bot API, as a caseworker works:
enrol a passkey from the one-time link (Chromium's virtual authenticator), sign out and in again, open
a key file, claim a case, read its summary and transcript, answer (the person receives it), see the
person's next words arrive live, invite the interpreter, export, close. Every request the page makes is
recorded: the person's words appear in the page and in no request or response the server sent in clear;
the key file and its passphrase never leave the browser. Screenshots for docs/console.md are taken here.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page
from sqlalchemy import delete

from bot.app.settings import PROJECT_ROOT, Settings
from bot.console import invites
from bot.console.pages import DIST
from bot.transcript import keyfiles
from storage.crypto import RecipientPrivateKey
from storage.models import Transcript, TranscriptEntry
from testkit.browser import chromium, needs_chromium, page_in, screenshot
from testkit.staffed import MARIE, MARIE_ID, SAMIRA, SAMIRA_ID, words
from tests.console.conftest import Served, serving_console

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(not (DIST / "manifest.json").exists(), reason="run `make web` first (needs Node.js 20+)"),
]

PASSPHRASE = "quiet harbour lanterns at dawn"
CANARY = "CANARY-7F3K je dors chez une amie depuis mardi"
LIVE_CANARY = "CANARY-9Q2M le patron garde mon passeport"
DOCS = PROJECT_ROOT / "docs"
PHOTO = b"\xff\xd8\xff\xe0" + b"CANARY-PHOTO-BYTES" * 40


async def virtual_authenticator(page: Page) -> None:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


async def enrolment_link(served: Served, staff_id: int) -> str:
    async with served.team.running.core.sessions.begin() as session:
        token = await invites.create(session, staff_id, served.team.running.core.clock())
    return invites.enrol_link(served.base, token)


async def test_a_caseworker_works_a_case_end_to_end_in_the_browser(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path
) -> None:
    key_file = tmp_path / "marie.key"
    shots = tmp_path
    keyfiles.write_private(key_file, recipient, PASSPHRASE)
    async with serving_console(settings) as served:
        team = served.team
        victim, case, _ = await team.hand_off_in_arabic(7301)
        victim.write(CANARY)  # while the case waits: kept sealed in the transcript

        async with chromium() as browser, page_in(browser, locale="fr-FR") as (page, recorder):
            page.on("dialog", lambda dialog: dialog.accept())
            await virtual_authenticator(page)

            # Enrol from the link, then sign out and in again with the passkey.
            await page.goto(await enrolment_link(served, MARIE_ID))
            await page.get_by_role("button", name="Enregistrer ma clé d'accès").click()
            await page.get_by_text("Clé d'accès enregistrée").wait_for()
            await page.get_by_role("link", name="Ouvrir la console").click()
            await page.get_by_text("Connecté·e : Marie").wait_for()
            await page.get_by_role("button", name="Se déconnecter").click()
            await page.get_by_role("button", name="Se connecter avec ma clé d'accès").click()
            await page.get_by_text("Connecté·e : Marie").wait_for()

            # The queue, live: the case waits, urgent first, language and catalog status shown.
            waiting = page.locator("#waiting button[data-case]")
            await waiting.first.wait_for()
            assert case in await waiting.first.inner_text()
            assert "ar (textes" in await waiting.first.inner_text()

            # The key: picked from a file, its passphrase typed; opened in the worker.
            await page.set_input_files("#key-file", str(key_file))
            await page.fill("#key-pass", PASSPHRASE)
            await page.get_by_role("button", name="Ouvrir la clé").click()
            await page.get_by_role("button", name="Oublier la clé").wait_for()
            assert (await page.locator("#key-state").inner_text()).startswith(f"Clé ouverte : {recipient.key_id}")
            assert await page.locator("#case-actions").is_hidden()
            await page.screenshot(path=str(screenshot("console-queue.png", shots)))

            # Claim; the summary and the transcript are read in the browser.
            await waiting.first.click()
            await page.get_by_role("button", name="Prendre ce dossier").click()
            await page.get_by_text("Dossier pris en charge.").wait_for()
            transcript = page.locator("#transcript")
            await transcript.locator(".original").get_by_text(CANARY).wait_for()  # the original words
            await transcript.locator(".said").get_by_text(CANARY).wait_for()  # beside their machine translation
            assert "Résumé de l'entretien" in await page.locator("#summary").inner_text()

            # Answer: the person receives it, translated and marked; the caseworker sees what was sent.
            await page.fill("#reply-text", "Bonjour, je suis Marie. Vous êtes en sécurité ce soir ?")
            await page.get_by_role("button", name="Envoyer").click()
            await page.locator("#sent").get_by_text("Bonjour, je suis Marie.").wait_for()
            received = await team.said_to(victim.user_id, "Bonjour, je suis Marie.")
            assert team.render("ar", "handoff.machine_translated") in words(received)
            assert words(received) in await page.locator("#sent").inner_text()

            # The person writes again: the words appear without reloading, within two seconds of being
            # written (the relay to Marie's Telegram chat follows the transcript's commit).
            victim.write(LIVE_CANARY)
            await team.said_to(MARIE, "CANARY-9Q2M")
            await transcript.locator(".original").get_by_text(LIVE_CANARY).wait_for(timeout=2000)

            # A photo the person sends is listed, and opened from the decrypted entry.
            team.api.user_sends_photo(victim.user_id, content=PHOTO)
            media = transcript.get_by_role("button", name="Ouvrir")
            await media.last.wait_for(timeout=4000)
            async with page.expect_download() as waiting_photo:
                await media.last.click()
            assert Path(await (await waiting_photo.value).path()).read_bytes() == PHOTO

            # Invite the interpreter (only those speaking Arabic are offered).
            options = await page.locator("#invite-who option").all_inner_texts()
            assert options == ["Samira (ar)"]
            await page.get_by_role("button", name="Inviter", exact=True).click()
            await page.get_by_text("Interprète invité·e.").wait_for()
            await team.said_to(SAMIRA, f"vous invite sur le dossier {case}")
            await page.screenshot(path=str(screenshot("console-case.png", shots)), full_page=True)

            # Export: made in the page from the decrypted entries, downloaded, never sent back.
            async with page.expect_download() as waiting_download:
                await page.get_by_role("button", name="Exporter (Markdown)").click()
            exported = Path(await (await waiting_download.value).path()).read_text()
            assert CANARY in exported and LIVE_CANARY in exported
            await page.get_by_text("Export téléchargé.").wait_for()

            # Close.
            await page.get_by_role("button", name="Clore le dossier").click()
            await page.get_by_text("Dossier clos.").wait_for()
            await team.said_to(victim.user_id, team.render("ar", "handoff.case_closed"))
            # Reopened from the page: it is active again.
            await page.get_by_role("button", name="Rouvrir le dossier").click()
            await page.get_by_text("Dossier rouvert.").wait_for()
            assert "en cours" in await page.locator("#case-facts").inner_text()
            await page.wait_for_timeout(500)

        # Every request stayed on the console's own origin; nothing secret crossed the wire in clear.
        assert recorder.origins() == {served.base}
        sent, got = recorder.sent(), recorder.received()
        assert PHOTO not in got and b"CANARY-PHOTO" not in got
        for secret in (CANARY, LIVE_CANARY, "CANARY-"):
            assert secret.encode() not in sent and secret.encode() not in got
            assert json.dumps(secret)[1:-1].encode() not in got
        assert PASSPHRASE.encode() not in sent
        assert key_file.read_bytes() not in sent
        assert any("/bundle?key=" in s.url for s in recorder.seen)
        export_posts = [s for s in recorder.seen if s.url.endswith("/export")]
        assert [json.loads(s.body) for s in export_posts] == [{"format": "md"}]
        for seen in recorder.seen:
            if seen.url.startswith(served.base + "/console/") and seen.status == 200:
                assert seen.headers.get("cache-control") == "no-store", seen.url
                assert "frame-ancestors 'none'" in seen.headers.get("content-security-policy", ""), seen.url


async def test_the_page_is_usable_on_a_phone_and_labelled(settings: Settings) -> None:
    async with (
        serving_console(settings) as served,
        chromium() as browser,
        page_in(browser, viewport=(390, 844), locale="en-GB") as (page, _),
    ):
        await page.goto(served.base + "/console/")
        button = page.get_by_role("button", name="Sign in with my passkey")
        await button.wait_for()
        box = await button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "signin"


async def test_without_server_sent_events_the_queue_is_polled(settings: Settings) -> None:
    async with serving_console(settings) as served:
        _, case, _ = await served.team.hand_off_in_arabic(7302)
        async with chromium() as browser, page_in(browser, locale="fr-FR") as (page, recorder):
            await page.add_init_script("delete window.EventSource")
            await virtual_authenticator(page)
            await page.goto(await enrolment_link(served, MARIE_ID))
            await page.get_by_role("button", name="Enregistrer ma clé d'accès").click()
            await page.get_by_role("link", name="Ouvrir la console").click()
            await page.locator(f"#waiting button[data-case='{case}']").wait_for()
            await page.get_by_text("Mise à jour toutes les 10 secondes.").wait_for()
            # A second case appears at the next poll, without reloading.
            _, second, _ = await served.team.hand_off_in_arabic(7303)
            await page.locator(f"#waiting button[data-case='{second}']").wait_for(timeout=15000)
        assert not any(s.url.endswith("/console/api/events") for s in recorder.seen)


async def test_a_passkey_is_only_made_for_the_public_urls_host(settings: Settings) -> None:
    """The relying party is the host of ACCUEIL_WEB_PUBLIC_URL (localhost here): the same server reached
    as 127.0.0.1 enrols nobody, and the link stays unused."""
    async with serving_console(settings) as served:
        link = await enrolment_link(served, MARIE_ID)
        async with chromium() as browser, page_in(browser, locale="en-GB") as (page, _):
            await virtual_authenticator(page)
            await page.goto(link.replace("://localhost:", "://127.0.0.1:"))
            await page.get_by_role("button", name="Register my passkey").click()
            await page.locator("#status").get_by_text("refused").or_(page.get_by_text("did not work")).wait_for()
            assert len(served.console.store) == 0  # no session was opened
        async with served.team.running.core.sessions() as session:
            token = link.rsplit("/", 1)[1]
            assert await invites.pending(session, token, served.team.running.core.clock()) is not None


async def test_an_interpreter_sees_the_persons_words_and_a_rolled_back_transcript_is_reported(
    settings: Settings, recipient: RecipientPrivateKey, tmp_path: Path
) -> None:
    key_file = tmp_path / "samira.key"
    keyfiles.write_private(key_file, recipient, PASSPHRASE)
    async with serving_console(settings) as served, aiohttp.ClientSession() as http:
        team, core = served.team, served.team.running.core
        victim, case, _ = await team.hand_off_in_arabic(7304)
        marie = served.signed_in(MARIE_ID)
        for action, body in (("claim", None), ("invite", {"staff_id": SAMIRA_ID})):
            url = f"{served.base}/console/api/cases/{case}/{action}"
            async with http.post(url, json=body, headers=served.headers(marie)) as response:
                assert response.status == 200
        victim.write(CANARY)
        await team.said_to(SAMIRA, "CANARY-7F3K")
        conversation = await team.conversation(case)
        async with core.sessions() as session:
            kept = await session.get(Transcript, conversation.id)
            assert kept is not None
            earlier = (kept.next_seq, kept.last_digest, kept.head_mac)

        async with chromium() as browser, page_in(browser, locale="en-GB") as (page, _):
            await virtual_authenticator(page)
            await page.goto(await enrolment_link(served, SAMIRA_ID))
            await page.get_by_role("button", name="Register my passkey").click()
            await page.get_by_role("link", name="Open the console").click()
            await page.get_by_text("Signed in: Samira").wait_for()
            await page.set_input_files("#key-file", str(key_file))
            await page.fill("#key-pass", PASSPHRASE)
            await page.get_by_role("button", name="Open the key").click()
            await page.get_by_role("button", name="Forget the key").wait_for()
            await page.locator(f"#mine button[data-case='{case}']").click()
            transcript = page.locator("#transcript")
            await transcript.get_by_text(CANARY).wait_for()
            shown = await transcript.inner_text()
            assert "[ar>en]" not in shown and "claimed by" not in shown  # the words as written, nothing else
            assert await page.locator("#summary-box").is_hidden()
            assert await page.locator("#export-md").is_hidden() and await page.locator("#close").is_hidden()

            victim.write(LIVE_CANARY)
            await transcript.get_by_text(LIVE_CANARY).wait_for(timeout=4000)
            # The database is set back to an earlier copy of the transcript: the page says so.
            async with core.sessions.begin() as session:
                await session.execute(
                    delete(TranscriptEntry).where(
                        TranscriptEntry.conversation_id == conversation.id, TranscriptEntry.seq >= earlier[0]
                    )
                )
                state = await session.get(Transcript, conversation.id)
                assert state is not None
                state.next_seq, state.last_digest, state.head_mac = earlier
            warning = page.locator("#transcript-warning")
            await warning.get_by_text("shorter than when you last read it").wait_for(timeout=4000)
