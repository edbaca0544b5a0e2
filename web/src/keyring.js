// Keyring: the page's side of the key worker (src/worker.js). Every method returns a promise that
// resolves with the worker's result or rejects with an Error whose message can be shown as it is.
//
//   const keyring = new Keyring(new URL('worker.js', import.meta.url))
//   const { keyId, label } = await keyring.unlock(file, passphrase, 15 * 60)  // file: File, Blob or ArrayBuffer
//   const { case: caseId, entries, head, warning } = await keyring.open(bundle)
//   await keyring.wipe()

export class Keyring {
  #worker
  #next = 1
  #waiting = new Map()

  constructor(workerUrl = new URL('worker.js', import.meta.url)) {
    this.#worker = new Worker(workerUrl)
    this.#worker.onmessage = (event) => {
      const { id, ok, result, error } = event.data ?? {}
      const waiting = this.#waiting.get(id)
      if (waiting === undefined) return
      this.#waiting.delete(id)
      if (ok) waiting.resolve(result)
      else waiting.reject(new Error(error))
    }
    this.#worker.onerror = (event) => {
      event.preventDefault?.()
      for (const waiting of this.#waiting.values()) waiting.reject(new Error('the key worker stopped'))
      this.#waiting.clear()
    }
  }

  #ask(op, fields = {}, transfer = []) {
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#worker.postMessage({ id, op, ...fields }, transfer)
    })
  }

  /** Open a key file with its passphrase; the key is forgotten after `idleSeconds` unused. */
  async unlock(file, passphrase, idleSeconds) {
    const buffer = file instanceof ArrayBuffer ? file.slice(0) : await file.arrayBuffer()
    return this.#ask('unlock', { file: buffer, passphrase, idleSeconds }, [buffer])
  }

  /** A case's entries, from the bundle the console's server sends for it. */
  open(bundle) {
    return this.#ask('open', { bundle })
  }

  /** Forget the key and everything the worker remembers. */
  wipe() {
    return this.#ask('wipe')
  }

  /** Wipe, then stop the worker. */
  async close() {
    try {
      await this.wipe()
    } finally {
      this.#worker.terminate()
    }
  }
}
