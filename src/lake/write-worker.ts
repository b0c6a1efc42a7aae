/**
 * Entry of a lake writer thread: answers the pool's write requests (`write-pool.ts`) with `runWriteJob`. The compiled
 * binary carries it as an extra entrypoint (`scripts/build.ts`), since Bun does not find a worker's file by itself.
 */
import { answer, type WriteRequest } from "./write-job.ts"

/** The little of a worker's global scope this needs (the project type-checks against the DOM's window types). */
declare const self: {
  onmessage: ((event: MessageEvent<WriteRequest>) => void) | null
  postMessage: (message: unknown) => void
}

// Names this thread in every outcome (span attributes, the pool's tests): a thread loads its own copy of this file.
const thread = `lake-writer-${crypto.randomUUID().slice(0, 8)}`

self.onmessage = (event) => {
  void answer(event.data, thread).then((reply) => self.postMessage(reply))
}
self.postMessage({ ready: true })
