/**
 * A lake writer thread that can be made to die: the real one's answers, except for symbol `CRASH` (an uncaught error)
 * and `EXIT` (the thread exits). The pool's tests start it in place of `src/lake/write-worker.ts`.
 */
import { answer, type WriteRequest } from "../../../src/lake/write-job.ts"

declare const self: {
  onmessage: ((event: MessageEvent<WriteRequest>) => void) | null
  postMessage: (message: unknown) => void
}

const thread = `crashing-writer-${crypto.randomUUID().slice(0, 8)}`

self.onmessage = (event) => {
  const symbol: string = event.data.job.symbol
  if (symbol === "CRASH") throw new Error("this thread was told to crash")
  if (symbol === "EXIT") process.exit(3)
  void answer(event.data, thread).then((reply) => self.postMessage(reply))
}
self.postMessage({ ready: true })
