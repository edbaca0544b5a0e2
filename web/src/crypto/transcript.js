// A case's transcript, opened in the browser from the bundle the server sends (bot/transcript/bundle.py),
// with the same checks as bot/transcript/reader.py: every entry in its place, bound to the one before it,
// the chain ending at the transcript's head. Every failure is one TranscriptError naming what is wrong.

import { equal, fromBase64, fromHex, fromUtf8, toHex, utf8, wipe } from './bytes.js'
import { GENESIS, caseEntryDigest, caseEntryInfo, entryAad, entryDigest, keyIdOf, wrapContext } from './digests.js'
import { hpkeOpen } from './hpke.js'
import { XWingPrivateKey } from './xwing.js'

export const BUNDLE_FORMAT = 'accueil-transcript-bundle/v1'

export class TranscriptError extends Error {}

/** The fields of bot/transcript/entry.py's Entry, with their defaults. */
const ENTRY_FIELDS = {
  who: undefined,
  at: undefined,
  kind: undefined,
  text: null,
  language: null,
  translation: null,
  machine_translated: false,
  step: null,
  answer: null,
  by: null,
  name: null,
  mime: null,
  data: null,
  caption: null,
}

/** An entry's plaintext as an Entry object (every field present); throws as Python's Entry(**json) would. */
export function entryOf(plaintext) {
  const doc = JSON.parse(fromUtf8(plaintext))
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('not an object')
  const out = {}
  for (const [field, fallback] of Object.entries(ENTRY_FIELDS)) {
    if (field in doc) out[field] = doc[field]
    else if (fallback === undefined) throw new TypeError(`no ${field}`)
    else out[field] = fallback
  }
  if (Object.keys(doc).some((field) => !(field in ENTRY_FIELDS))) throw new TypeError('unknown field')
  return out
}

async function hkdf(secret, purpose) {
  const key = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
  const info = utf8(`accueil/${purpose}`)
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info }, key, 256))
}

/** v1: entry `seq` sealed under the key of chain key K(seq). */
export async function openEntryV1(chainKey, conversation, seq, previous, blob) {
  if (blob.length < 1 + 12 + 16 || blob[0] !== 1) throw new TranscriptError(`entry ${seq} is damaged`)
  const entryKey = await hkdf(chainKey, 'transcript/entry/v1')
  try {
    const key = await crypto.subtle.importKey('raw', entryKey, 'AES-GCM', false, ['decrypt'])
    const params = { name: 'AES-GCM', iv: blob.subarray(1, 13), additionalData: entryAad(conversation, seq, previous) }
    return new Uint8Array(await crypto.subtle.decrypt(params, key, blob.subarray(13)))
  } catch {
    throw new TranscriptError(`entry ${seq} has been altered, moved or removed`)
  } finally {
    wipe(entryKey)
  }
}

export function nextChainKey(chainKey) {
  return hkdf(chainKey, 'transcript/chain/v1')
}

function chainInfo(keyId, conversation) {
  return utf8(`accueil/transcript/v1|key=${keyId}|conversation=${conversation}`)
}

/** v1: the chain key K0 wrapped to `key`. */
export async function unwrapChainKey(wrapped, key, conversation) {
  try {
    return await hpkeOpen(key, wrapped, chainInfo(key.keyId, conversation))
  } catch {
    throw new TranscriptError('the transcript cannot be read with this key')
  }
}

/** v2: an epoch's private key, wrapped to `key` (the shred layer already removed by the server); it must match `publicRaw`. */
export async function unwrapCaseKey(wrapped, key, caseId, epoch, publicRaw) {
  const context = utf8(wrapContext(key.keyId, caseId, epoch, keyIdOf(publicRaw)))
  let secret
  try {
    secret = await hpkeOpen(key, wrapped, context)
  } catch {
    throw new TranscriptError(`key ${key.keyId} cannot open the key of case ${caseId} (epoch ${epoch})`)
  }
  let caseKey
  try {
    caseKey = new XWingPrivateKey(secret)
  } catch {
    throw new TranscriptError(`the key of case ${caseId} (epoch ${epoch}) is damaged`)
  } finally {
    wipe(secret)
  }
  if (!equal(caseKey.public.raw, publicRaw)) {
    caseKey.wipe()
    throw new TranscriptError(`the key of case ${caseId} (epoch ${epoch}) does not match the epoch's public key`)
  }
  return caseKey
}

/** v2: entry `seq`, sealed to the epoch's public key. */
export async function openCaseEntry(caseKey, caseId, epoch, seq, previous, blob) {
  if (blob[0] !== 2) throw new TranscriptError(`entry ${seq} is damaged`)
  try {
    return await hpkeOpen(caseKey, blob.subarray(1), caseEntryInfo(caseId, epoch, seq, previous))
  } catch {
    throw new TranscriptError(`entry ${seq} has been altered, moved or removed`)
  }
}

function bytesOf(text, what) {
  try {
    return fromBase64(text)
  } catch {
    throw new TranscriptError(`the case sent is damaged (${what})`)
  }
}

function checkShape(bundle) {
  const ok =
    typeof bundle === 'object' &&
    bundle !== null &&
    bundle.format === BUNDLE_FORMAT &&
    typeof bundle.case === 'string' &&
    Array.isArray(bundle.entries) &&
    Array.isArray(bundle.epochs) &&
    typeof bundle.head === 'object' &&
    bundle.head !== null &&
    Number.isSafeInteger(bundle.head.next_seq) &&
    typeof bundle.head.last_digest === 'string' &&
    /^[0-9a-f]{64}$/.test(bundle.head.last_digest)
  if (!ok) throw new TranscriptError('this is not a transcript the console can read')
}

/**
 * Every entry of the case in `bundle`, opened with `key` and checked.
 * Returns {case, entries, head: {seq, digest}, chain}: `chain` holds the digest after each entry.
 */
export async function openBundle(key, bundle) {
  checkShape(bundle)
  const caseId = bundle.case
  if (bundle.key_id !== key.keyId) {
    throw new TranscriptError(`this copy of case ${caseId} was made for key ${bundle.key_id}, not for the key that is open (${key.keyId})`)
  }
  const epochs = new Map()
  for (const item of bundle.epochs) {
    epochs.set(item.epoch, { public: bytesOf(item.public, 'an epoch key'), wrap: item.wrap ? bytesOf(item.wrap, 'a wrapped key') : null })
  }
  const caseKeys = new Map()
  let chainKey = bundle.chain_key ? await unwrapChainKey(bytesOf(bundle.chain_key, 'the chain key'), key, caseId) : null
  const entries = []
  const chain = []
  let previous = GENESIS
  let epoch = 0
  try {
    for (const [expected, row] of bundle.entries.entries()) {
      if (row?.seq !== expected) throw new TranscriptError(`entry ${expected} is missing from case ${caseId}`)
      if (!Number.isSafeInteger(row.epoch) || row.epoch < epoch) throw new TranscriptError(`entry ${expected} has been altered, moved or removed`)
      epoch = row.epoch
      const blob = bytesOf(row.sealed, `entry ${expected}`)
      let plaintext
      if (epoch === 0) {
        if (chainKey === null) throw new TranscriptError(`key ${key.keyId} cannot read case ${caseId}`)
        plaintext = await openEntryV1(chainKey, caseId, expected, previous, blob)
        const next = await nextChainKey(chainKey)
        wipe(chainKey)
        chainKey = next
        previous = entryDigest(caseId, expected, previous, blob)
      } else {
        if (!caseKeys.has(epoch)) {
          const known = epochs.get(epoch)
          if (known === undefined) throw new TranscriptError(`entry ${expected} of case ${caseId} names an epoch that does not exist`)
          if (known.wrap === null) throw new TranscriptError(`key ${key.keyId} cannot read case ${caseId} from entry ${expected} on`)
          caseKeys.set(epoch, await unwrapCaseKey(known.wrap, key, caseId, epoch, known.public))
        }
        plaintext = await openCaseEntry(caseKeys.get(epoch), caseId, epoch, expected, previous, blob)
        previous = caseEntryDigest(caseId, epoch, expected, previous, blob)
      }
      chain.push(previous)
      try {
        entries.push(entryOf(plaintext))
      } catch {
        throw new TranscriptError(`entry ${expected} is not a transcript entry`)
      } finally {
        wipe(plaintext)
      }
    }
  } finally {
    for (const caseKey of caseKeys.values()) caseKey.wipe()
    wipe(chainKey)
  }
  const { next_seq: nextSeq, last_digest: lastDigest } = bundle.head
  if (nextSeq > entries.length) {
    throw new TranscriptError(`the last entries of case ${caseId} are missing (${nextSeq - entries.length})`)
  }
  if (nextSeq !== entries.length || !equal(fromHex(lastDigest), previous)) {
    throw new TranscriptError(`the last entries of case ${caseId} are missing`)
  }
  return { case: caseId, entries, head: { seq: entries.length, digest: toHex(previous) }, chain: chain.map(toHex) }
}
