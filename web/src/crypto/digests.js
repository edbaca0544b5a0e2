// Key ids and entry digests: the same bytes as storage/digests.py computes.

import { sha256 } from '@noble/hashes/sha2.js'
import { concat, toHex, utf8 } from './bytes.js'

/** What the first entry of a transcript binds to. */
export const GENESIS = new Uint8Array(32)

/** 16 hex digits of SHA-256("accueil/key-id/v1|" + public key). */
export function keyIdOf(publicRaw) {
  return toHex(sha256(concat(utf8('accueil/key-id/v1|'), publicRaw))).slice(0, 16)
}

/** v1: the associated data of entry `seq` (case, place, previous digest). */
export function entryAad(conversation, seq, previous) {
  return concat(utf8(`accueil/entry/v1|${conversation}|${seq}|`), previous)
}

/** v1: what the next entry binds to. */
export function entryDigest(conversation, seq, previous, blob) {
  return sha256(concat(entryAad(conversation, seq, previous), blob))
}

/** v2: the HPKE info of entry `seq` (case, epoch, place, previous digest). */
export function caseEntryInfo(caseId, epoch, seq, previous) {
  return concat(utf8(`accueil/entry/v2|${caseId}|${epoch}|${seq}|`), previous)
}

/** v2: what the next entry binds to. */
export function caseEntryDigest(caseId, epoch, seq, previous, blob) {
  return sha256(concat(caseEntryInfo(caseId, epoch, seq, previous), blob))
}

/** v2: the HPKE info (and shred-layer context) of an epoch's private key wrapped to one recipient. */
export function wrapContext(keyId, caseId, epoch, caseKeyId) {
  return `accueil/case-key/v2|key=${keyId}|case=${caseId}|epoch=${epoch}|public=${caseKeyId}`
}
