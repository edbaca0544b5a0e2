// Known-answer checks of the browser's cryptography against the Python side's: loaded only by the
// test page of tests/web, never by the console. It exposes functions of public inputs and of secrets the
// caller supplies; the key the worker holds is reached only through the Keyring, as the console does.

import { fromBase64, fromHex, toBase64, toHex } from '../crypto/bytes.js'
import { caseEntryDigest, entryDigest, keyIdOf } from '../crypto/digests.js'
import { hpkeOpen, hpkeSeal } from '../crypto/hpke.js'
import { XWingPrivateKey, XWingPublicKey, decapsulate, encapsulate, expand } from '../crypto/xwing.js'
import { Keyring } from '../keyring.js'

const keyring = new Keyring()

globalThis.accueilKat = {
  keyring,
  /** The public key and key id of a secret (32-byte seed or 96-byte expanded), base64 in and out. */
  publicOf(secret) {
    const key = new XWingPrivateKey(fromBase64(secret))
    const out = { public: toBase64(key.public.raw), keyId: key.keyId, expanded: toBase64(expand(fromBase64(secret))) }
    key.wipe()
    return out
  },
  encapsulate(publicHex, eseedHex) {
    const { sharedSecret, cipherText } = encapsulate(new XWingPublicKey(fromHex(publicHex)), fromHex(eseedHex))
    return { ss: toHex(sharedSecret), ct: toHex(cipherText) }
  },
  decapsulate(secretHex, ctHex) {
    return toHex(decapsulate(fromHex(ctHex), new XWingPrivateKey(fromHex(secretHex))))
  },
  /** HPKE: everything in base64 (the info of an entry holds the previous entry's digest, raw bytes). */
  async seal(publicB64, plaintextB64, infoB64) {
    return toBase64(await hpkeSeal(fromBase64(publicB64), fromBase64(plaintextB64), fromBase64(infoB64)))
  },
  async open(secretB64, sealedB64, infoB64) {
    return toBase64(await hpkeOpen(new XWingPrivateKey(fromBase64(secretB64)), fromBase64(sealedB64), fromBase64(infoB64)))
  },
  keyIdOf: (publicB64) => keyIdOf(fromBase64(publicB64)),
  entryDigest: (conversation, seq, previousHex, blobB64) => toHex(entryDigest(conversation, seq, fromHex(previousHex), fromBase64(blobB64))),
  caseEntryDigest: (caseId, epoch, seq, previousHex, blobB64) =>
    toHex(caseEntryDigest(caseId, epoch, seq, fromHex(previousHex), fromBase64(blobB64))),
  /** Unlock with the file chosen in the page's file input and the passphrase typed in its password field. */
  async unlockFromPage(idleSeconds) {
    const file = document.getElementById('key-file').files[0]
    const passphrase = document.getElementById('passphrase').value
    return keyring.unlock(file, passphrase, idleSeconds)
  },
  /** Fetch a case's bundle from the server and open it in the worker. */
  async openCase(url) {
    const response = await fetch(url, { credentials: 'same-origin' })
    if (!response.ok) throw new Error(`the server answered ${response.status}`)
    return keyring.open(await response.json())
  },
}
document.documentElement.dataset.ready = 'yes'
