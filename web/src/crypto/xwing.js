// X-Wing (ML-KEM-768 + X25519, HPKE KEM id 0x647A), as Python's `cryptography` computes it.
//
// A private key is held in either form: the 32-byte X-Wing seed, or the 96 bytes it expands to with
// SHAKE256 (ML-KEM-768's seed d || z, then the X25519 private key), which is what key files written
// before the seed form hold. Both give the same key.

import { x25519 } from '@noble/curves/ed25519.js'
import { sha3_256, shake256 } from '@noble/hashes/sha3.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { concat, wipe } from './bytes.js'
import { keyIdOf } from './digests.js'

export const NAME = 'X-Wing'
export const SEED = 32
export const EXPANDED = 96
export const PUBLIC = 1216
export const ENC = 1120
const MLKEM_PUBLIC = 1184
const MLKEM_CT = 1088
// The X-Wing label, "\.//^\".
const LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c)

/** The 96 bytes a 32-byte X-Wing seed expands to (a 96-byte secret is copied as it is). */
export function expand(secret) {
  if (secret.length === SEED) return shake256(secret, { dkLen: EXPANDED })
  if (secret.length === EXPANDED) return Uint8Array.from(secret)
  throw new RangeError('this is not a recipient private key')
}

export class XWingPublicKey {
  constructor(raw) {
    if (!(raw instanceof Uint8Array) || raw.length !== PUBLIC) {
      throw new RangeError('a recipient public key is 1216 bytes (ML-KEM-768 then X25519)')
    }
    this.raw = Uint8Array.from(raw)
    this.type = 'public'
    this.extractable = true
    this.algorithm = { name: NAME }
  }

  get keyId() {
    return keyIdOf(this.raw)
  }
}

export class XWingPrivateKey {
  constructor(secret) {
    const expanded = expand(secret)
    const { secretKey, publicKey } = ml_kem768.keygen(expanded.subarray(0, 64))
    this.mlkem = secretKey
    this.x = expanded.slice(64)
    wipe(expanded)
    this.public = new XWingPublicKey(concat(publicKey, x25519.getPublicKey(this.x)))
    this.type = 'private'
    this.extractable = false
    this.algorithm = { name: NAME }
  }

  get keyId() {
    return this.public.keyId
  }

  /** Overwrite the secret halves; the key opens nothing afterwards. */
  wipe() {
    wipe(this.mlkem, this.x)
    this.mlkem = null
    this.x = null
  }
}

function combine(ssM, ssX, ctX, pkX) {
  const input = concat(ssM, ssX, ctX, pkX, LABEL)
  const out = sha3_256(input)
  wipe(input, ssM, ssX)
  return out
}

/** The shared secret of `ct` (1120 bytes) for `key`. */
export function decapsulate(ct, key) {
  if (key.mlkem === null) throw new Error('the key is locked')
  if (ct.length !== ENC) throw new RangeError('an X-Wing ciphertext is 1120 bytes')
  const ctX = ct.subarray(MLKEM_CT)
  const ssM = ml_kem768.decapsulate(ct.subarray(0, MLKEM_CT), key.mlkem)
  const ssX = x25519.getSharedSecret(key.x, ctX)
  return combine(ssM, ssX, ctX, key.public.raw.subarray(MLKEM_PUBLIC))
}

/** A shared secret and its ciphertext for `publicKey`; `eseed` (64 bytes) only for known-answer tests. */
export function encapsulate(publicKey, eseed = crypto.getRandomValues(new Uint8Array(64))) {
  if (eseed.length !== 64) throw new RangeError('eseed is 64 bytes')
  const pkM = publicKey.raw.subarray(0, MLKEM_PUBLIC)
  const pkX = publicKey.raw.subarray(MLKEM_PUBLIC)
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(pkM, eseed.slice(0, 32))
  const ek = eseed.slice(32)
  const ctX = x25519.getPublicKey(ek)
  const ssX = x25519.getSharedSecret(ek, pkX)
  wipe(ek)
  return { sharedSecret: combine(sharedSecret, ssX, ctX, pkX), cipherText: concat(cipherText, ctX) }
}

/** The KEM as the `hpke` package takes it (key objects are made here, never by the suite). */
export const KEM_XWING = () => ({
  id: 0x647a,
  type: 'KEM',
  name: NAME,
  Nsecret: 32,
  Nenc: ENC,
  Npk: PUBLIC,
  Nsk: SEED,
  async DeriveKeyPair() {
    throw new Error('not used')
  },
  async GenerateKeyPair() {
    const key = new XWingPrivateKey(crypto.getRandomValues(new Uint8Array(SEED)))
    return { privateKey: key, publicKey: key.public }
  },
  async SerializePublicKey(key) {
    return Uint8Array.from(key.raw)
  },
  async DeserializePublicKey(raw) {
    return new XWingPublicKey(raw)
  },
  async SerializePrivateKey() {
    throw new Error('a private key never leaves the worker')
  },
  async DeserializePrivateKey(secret) {
    return new XWingPrivateKey(secret)
  },
  async Encap(publicKey) {
    const { sharedSecret, cipherText } = encapsulate(publicKey)
    return { shared_secret: sharedSecret, enc: cipherText }
  },
  async Decap(enc, privateKey) {
    return decapsulate(enc, privateKey)
  },
})
