// The reading key: opened from a file the caseworker picks, with the passphrase they type, inside the
// worker the keyring runs (../keyring.js). Neither the file, the passphrase nor anything decrypted is
// ever sent to the server; the key is wiped at sign-out and after the idle timeout.
import { call } from "./http.js";
import { t } from "./texts.js";

const $ = (id) => document.getElementById(id);
const IDLE_SECONDS = 30 * 60;

export class KeyPanel {
  constructor(built, changed) {
    this.keyring = null;
    this.changed = changed;
    this.seen = {};
    if (!built) {
      $("key-state").textContent = t("keys.unavailable");
      $("key-form").hidden = true;
      return;
    }
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.unlock();
    });
    $("key-forget").addEventListener("click", () => this.wipe());
  }

  ready() {
    return this.keyring !== null;
  }

  async unlock() {
    const file = $("key-file").files[0];
    const passphrase = $("key-pass").value;
    if (!file || !passphrase) return;
    try {
      const { Keyring } = await import("../keyring.js");
      const keyring = new Keyring();
      const { keyId, label } = await keyring.unlock(await file.arrayBuffer(), passphrase, IDLE_SECONDS);
      this.keyring = keyring;
      this.keyId = keyId;
      $("key-state").textContent = t("keys.opened", { label: label || keyId });
      $("key-form").hidden = true;
      $("key-forget").hidden = false;
      this.changed();
    } catch {
      $("key-state").textContent = t("keys.failed");
    } finally {
      $("key-pass").value = "";
      $("key-file").value = "";
    }
  }

  async read(caseId) {
    const bundle = await call("GET", `/console/api/cases/${caseId}/bundle?key=${encodeURIComponent(this.keyId)}`);
    const opened = await this.keyring.open(bundle);
    return opened;
  }

  wipe() {
    if (this.keyring) this.keyring.close().catch(() => {});
    this.keyring = null;
    this.keyId = null;
    $("key-state").textContent = t("keys.none");
    $("key-form").hidden = false;
    $("key-forget").hidden = true;
  }
}
