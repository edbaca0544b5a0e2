// HPKE base mode with X-Wing, HKDF-SHA256 and AES-256-GCM: the suite of storage/crypto.py.
// A sealed blob is the encapsulated secret (1120 bytes) followed by the AEAD ciphertext.

import { AEAD_AES_256_GCM, CipherSuite, KDF_HKDF_SHA256 } from 'hpke'
import { concat } from './bytes.js'
import { ENC, KEM_XWING, XWingPublicKey } from './xwing.js'

const suite = new CipherSuite(KEM_XWING, KDF_HKDF_SHA256, AEAD_AES_256_GCM)

/** The plaintext of `blob` for `privateKey` (an XWingPrivateKey); throws when it does not open. */
export async function hpkeOpen(privateKey, blob, info) {
  if (blob.length < ENC + 16) throw new RangeError('too short to be sealed')
  return new Uint8Array(await suite.Open(privateKey, blob.subarray(0, ENC), blob.subarray(ENC), { info }))
}

/** `plaintext` sealed to a public key (raw bytes or an XWingPublicKey). */
export async function hpkeSeal(publicKey, plaintext, info) {
  const key = publicKey instanceof XWingPublicKey ? publicKey : new XWingPublicKey(publicKey)
  const { encapsulatedSecret, ciphertext } = await suite.Seal(key, plaintext, { info })
  return concat(encapsulatedSecret, new Uint8Array(ciphertext))
}
