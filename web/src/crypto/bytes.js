// Bytes: base64, hex, UTF-8, concatenation, comparison and wiping.

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text) {
  return encoder.encode(text)
}

export function fromUtf8(bytes) {
  return decoder.decode(bytes)
}

export function concat(...parts) {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Strict base64 (as Python's `b64decode(validate=True)`): anything else is an error. */
export function fromBase64(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new TypeError('not base64')
  }
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

export function toBase64(bytes) {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function fromHex(text) {
  if (typeof text !== 'string' || !/^([0-9a-f]{2})*$/i.test(text)) throw new TypeError('not hex')
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Equal contents, compared without an early exit. */
export function equal(a, b) {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/** Overwrite secret bytes with zeros (the garbage collector may still hold copies; this is what can be done). */
export function wipe(...arrays) {
  for (const array of arrays) if (array instanceof Uint8Array) array.fill(0)
}
