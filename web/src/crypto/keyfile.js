// Recipient private key files, opened as storage/crypto.py opens them: scrypt with the file's own
// (bounded) parameters, then AES-256-GCM (WebCrypto) with the associated data "format|key_id".

import { scryptAsync } from '@noble/hashes/scrypt.js'
import { fromBase64, fromUtf8, utf8, wipe } from './bytes.js'
import { XWingPrivateKey } from './xwing.js'

export const FORMAT = 'accueil-recipient-key/v1'
/** A key file is a few hundred bytes; anything much larger is not one. */
export const MAX_KEY_FILE = 65536
const N_RANGE = [2 ** 14, 2 ** 20]
const R_RANGE = [8, 16]
const P_RANGE = [1, 4]
const MAX_MEMORY = 2 ** 30

export class KeyFileError extends Error {}

const NOT_A_KEY = 'this file is not an Accueil recipient key'

/** The scrypt parameters of a key file, refused (before any work) outside what storage/keyfile_bounds.py allows. */
export function scryptCost(kdf) {
  if (typeof kdf !== 'object' || kdf === null || (kdf.name ?? 'scrypt') !== 'scrypt') throw new KeyFileError(NOT_A_KEY)
  const { n, r, p } = kdf
  if (![n, r, p].every(Number.isSafeInteger)) throw new KeyFileError(NOT_A_KEY)
  const inside = ([low, high], value) => value >= low && value <= high
  const powerOfTwo = (n & (n - 1)) === 0
  if (!inside(N_RANGE, n) || !inside(R_RANGE, r) || !inside(P_RANGE, p) || !powerOfTwo || 128 * n * r > MAX_MEMORY) {
    throw new KeyFileError(
      'this key file asks for a scrypt cost outside what Accueil accepts (n a power of two from 2^14 to 2^20, ' +
        'r from 8 to 16, p from 1 to 4, at most 1 GiB): it was not written by `accueil keys init`',
    )
  }
  return { n, r, p }
}

function parse(data) {
  if (data.length > MAX_KEY_FILE) throw new KeyFileError(`${NOT_A_KEY} (too large)`)
  let doc
  try {
    doc = JSON.parse(fromUtf8(data))
  } catch {
    throw new KeyFileError(NOT_A_KEY)
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT) {
    const association = typeof doc?.format === 'string' && doc.format.startsWith('accueil-association-key')
    throw new KeyFileError(association ? "this is the association's key, not a caseworker's recipient key" : NOT_A_KEY)
  }
  if (typeof doc.key_id !== 'string' || typeof doc.kdf !== 'object' || doc.kdf === null) throw new KeyFileError(NOT_A_KEY)
  const cost = scryptCost(doc.kdf)
  try {
    return { doc, cost, salt: fromBase64(doc.kdf.salt), nonce: fromBase64(doc.nonce), sealed: fromBase64(doc.sealed) }
  } catch {
    throw new KeyFileError(NOT_A_KEY)
  }
}

/**
 * The private key in a key file (`data`: its bytes), with its id and label.
 * Throws KeyFileError with one clear sentence: not a key file, a refused cost, the wrong passphrase.
 */
export async function openKeyFile(data, passphrase) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
  const { doc, cost, salt, nonce, sealed } = parse(bytes)
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new KeyFileError('type the passphrase of the key file')
  const secretPass = utf8(passphrase)
  const derived = await scryptAsync(secretPass, salt, { N: cost.n, r: cost.r, p: cost.p, dkLen: 32, maxmem: MAX_MEMORY + 1024 * 1024 })
  wipe(secretPass)
  let secret
  try {
    const key = await crypto.subtle.importKey('raw', derived, 'AES-GCM', false, ['decrypt'])
    const aad = utf8(`${FORMAT}|${doc.key_id}`)
    secret = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key, sealed))
  } catch {
    throw new KeyFileError('wrong passphrase for this key file')
  } finally {
    wipe(derived)
  }
  let key
  try {
    key = new XWingPrivateKey(secret)
  } catch {
    throw new KeyFileError('this is not a recipient private key')
  } finally {
    wipe(secret)
  }
  if (key.keyId !== doc.key_id) {
    key.wipe()
    throw new KeyFileError('this key file names another key than the one it holds')
  }
  return { key, keyId: key.keyId, label: typeof doc.label === 'string' ? doc.label : null }
}
