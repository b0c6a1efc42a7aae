/**
 * A page decode thread that dies on a page whose first byte is `!` (an uncaught error) and otherwise answers as the
 * real one does. The decode pool's tests start it in place of `src/providers/kit/decode-worker.ts`.
 */
import { type BarColumnsSpec, columnBuffers, readBarColumns } from "../../../src/providers/kit/bar-columns.ts"

declare const self: {
  onmessage: ((event: MessageEvent<{ id: number; spec: BarColumnsSpec; bytes: Uint8Array }>) => void) | null
  postMessage: (message: unknown, transfer?: Array<ArrayBuffer>) => void
}

self.onmessage = (event) => {
  const { id, spec, bytes } = event.data
  if (bytes[0] === 33) throw new Error("this thread was told to crash")
  const reply = readBarColumns(spec, bytes)
  if (reply.ok) self.postMessage({ id, reply }, columnBuffers(reply))
  else self.postMessage({ id, reply, bytes }, [bytes.buffer as ArrayBuffer])
}
self.postMessage({ ready: true })
