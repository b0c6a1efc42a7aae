/**
 * Long CPU-bound runs (an ingest from a fast provider, aggregation, verification) must still hear Ctrl-C and SIGTERM.
 * Effect yields between fibers on its own scheduler, which keeps Bun's event loop busy without it ever polling for
 * signals; a run could go on to its end with the signal pending (a 40-symbol year did). A real timer lets the loop go
 * round; doing so at most every 100 ms costs nothing measurable.
 */
import { Effect } from "effect"

const EVERY_MS = 100

// Wall time of the process, not the run's clock: this is about the event loop, which a test clock does not move.
let last = 0

/** Lets the event loop take pending signals and I/O if it has not in the last 100 ms. */
export const letSignalsIn: Effect.Effect<void> = Effect.suspend(() => {
  const now = performance.now()
  if (now - last < EVERY_MS) return Effect.void
  last = now
  return Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))
})
