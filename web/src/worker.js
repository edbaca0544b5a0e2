// The key worker: it holds a caseworker's private key in memory only, opens transcripts with it,
// and forgets it on request or after a while unused. The key, the passphrase and what they open
// never leave this worker except as the entries `open` returns to the page.
//
// Requests are {id, op, ...}; every reply is {id, ok: true, result} or {id, ok: false, error}.
//   unlock {file: ArrayBuffer, passphrase, idleSeconds} -> {keyId, label}
//   open {bundle}                                       -> {case, entries, head: {seq, digest}, warning}
//   wipe {}                                             -> {}

import { KeyFileError, openKeyFile } from './crypto/keyfile.js'
import { TranscriptError, openBundle } from './crypto/transcript.js'

const LOCKED = 'the key is locked: open your key file again'
const DEFAULT_IDLE = 15 * 60

let held = null // {key, keyId, label, idleSeconds, timer}
/** The newest head seen of each case: {seq, digest, chain} (digests are not secret; they go with `wipe`). */
const heads = new Map()

function forgetKey() {
  if (held === null) return
  clearTimeout(held.timer)
  held.key.wipe()
  held = null
}

function touch() {
  clearTimeout(held.timer)
  held.timer = setTimeout(forgetKey, held.idleSeconds * 1000)
}

async function unlock({ file, passphrase, idleSeconds }) {
  if (!(file instanceof ArrayBuffer) && !ArrayBuffer.isView(file)) throw new KeyFileError('choose your key file')
  const idle = Number.isFinite(idleSeconds) && idleSeconds > 0 ? idleSeconds : DEFAULT_IDLE
  const opened = await openKeyFile(ArrayBuffer.isView(file) ? new Uint8Array(file.buffer, file.byteOffset, file.byteLength) : file, passphrase)
  forgetKey()
  held = { key: opened.key, keyId: opened.keyId, label: opened.label, idleSeconds: idle, timer: null }
  touch()
  return { keyId: held.keyId, label: held.label }
}

/** A warning when `chain` (this bundle's digests) goes back on the newest head seen of the case. */
function headWarning(caseId, chain) {
  const seen = heads.get(caseId)
  if (seen === undefined) return null
  if (seen.seq > chain.length) {
    return (
      `case ${caseId}: ${seen.seq - chain.length} entries are missing since this page last read it ` +
      `(${seen.seq} entries then, ${chain.length} now): the transcript was cut or rolled back`
    )
  }
  if (seen.seq > 0 && chain[seen.seq - 1] !== seen.digest) {
    return `case ${caseId}: the transcript differs from the one this page read before: it was rewritten`
  }
  return null
}

async function open({ bundle }) {
  if (held === null) throw new KeyFileError(LOCKED)
  touch()
  const opened = await openBundle(held.key, bundle)
  const warning = headWarning(opened.case, opened.chain)
  if (warning === null) heads.set(opened.case, { seq: opened.head.seq, digest: opened.head.digest })
  return { case: opened.case, entries: opened.entries, head: opened.head, warning }
}

function wipeAll() {
  forgetKey()
  heads.clear()
  return {}
}

const OPS = { unlock, open, wipe: wipeAll }

/** The message a page may show: ours as they are; anything else in one line that names no secret. */
function clear(error) {
  if (error instanceof KeyFileError || error instanceof TranscriptError) return error.message
  return 'the transcript could not be opened in this browser'
}

self.onmessage = async (event) => {
  const request = event.data ?? {}
  const { id, op } = request
  const run = Object.hasOwn(OPS, op) ? OPS[op] : null
  try {
    if (run === null) throw new KeyFileError(`unknown request ${JSON.stringify(String(op))}`)
    self.postMessage({ id, ok: true, result: await run(request) })
  } catch (error) {
    self.postMessage({ id, ok: false, error: clear(error) })
  } finally {
    if (op === 'unlock') request.passphrase = null
  }
}
