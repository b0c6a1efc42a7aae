/**
 * Entry of the page decode thread: answers `decode-pool.ts` with `readBarColumns`, the columns' buffers moved, not
 * copied. The compiled binary carries it as an extra entrypoint (`scripts/build.ts`), as it does the lake writers'.
 */
import { type BarColumnsSpec, columnBuffers, readBarColumns } from "./bar-columns.ts"

/** What the pool posts: one page's bytes (moved here) and how to read it. */
interface DecodeRequest {
  readonly id: number
  readonly spec: BarColumnsSpec
  readonly bytes: Uint8Array
}

/** The little of a worker's global scope this needs (the project type-checks against the DOM's window types). */
declare const self: {
  onmessage: ((event: MessageEvent<DecodeRequest>) => void) | null
  postMessage: (message: unknown, transfer?: Array<ArrayBuffer>) => void
}

self.onmessage = (event) => {
  const { id, spec, bytes } = event.data
  let reply: ReturnType<typeof readBarColumns>
  try {
    reply = readBarColumns(spec, bytes)
  } catch {
    reply = { ok: false, why: "shape" }
  }
  // A page that is not what the spec describes goes back whole, for the caller's Schema to say what is wrong.
  if (reply.ok) self.postMessage({ id, reply }, columnBuffers(reply))
  else self.postMessage({ id, reply, bytes }, [bytes.buffer as ArrayBuffer])
}
self.postMessage({ ready: true })
