/**
 * The lake writer threads: a pool of `Worker`s (Bun's and Deno's, the web API both have) that run the heavy half of
 * lake writes (`runWriteJob`: decode, merge, encode, compress, temp file and fsync) off the main thread, which keeps
 * the file lock, the rename and the ledger rows. Sized by the cores (`poolSize`: 1 to 4 threads, started as work
 * arrives, so a command that writes nothing starts none), at most `JOBS_PER_WORKER` jobs per thread in flight: a
 * caller beyond that waits for a place, so a fast producer cannot pile batches up in memory. The threads stop when
 * the layer's scope closes. A thread that dies fails its jobs with a `StorageError` and is replaced by the next job
 * that needs one; if threads cannot start at all, writes run on the main thread instead (the same `runWriteJob`).
 */
import { Context, Effect, Layer, Schema, type Scope, Semaphore } from "effect"
import { StorageError } from "../domain/errors.ts"
import { workerErrorLine } from "../domain/worker-error.ts"
import {
  runWriteJob,
  transferable,
  type WriteJob,
  type WriteOutcome,
  type WriteRequest,
  WriterMessage
} from "./write-job.ts"

export interface LakeWritersStats {
  /** Threads the pool may run at once. */
  readonly size: number
  /** Jobs it lets in flight at once (`size × JOBS_PER_WORKER`). */
  readonly bound: number
  readonly inFlight: number
  /** The most jobs ever in flight at once. */
  readonly mostInFlight: number
  /** Threads started so far (a replaced thread counts again). */
  readonly started: number
  /** Threads alive now. */
  readonly running: number
  /** Writes fell back to the main thread: the threads could not start. */
  readonly sameThread: boolean
}

export interface LakeWritersShape {
  /** Runs the job's heavy half; the temp file it names is written when the outcome has rows. */
  readonly run: (job: WriteJob) => Effect.Effect<WriteOutcome, StorageError>
  readonly stats: () => LakeWritersStats
}

export class LakeWriters extends Context.Service<LakeWriters, LakeWritersShape>()("marketpipe/LakeWriters") {}

/** The same job on the calling thread: for tests, tools and as the pool's fallback. */
export const sameThreadWriters: LakeWritersShape = {
  run: (job) => runWriteJob(job, "main"),
  stats: () => ({ size: 0, bound: 0, inFlight: 0, mostInFlight: 0, started: 0, running: 0, sameThread: true })
}

/** Jobs one thread may hold: one being written and one waiting, so a thread never idles between two jobs. */
export const JOBS_PER_WORKER = 2

/**
 * Threads for `cores` (the machine's by default): one per core beside the main thread's, at least 1, at most 4. The
 * main thread stays busy too (provider pages, validation, day splits, ledger rows: about half an ingest's CPU), and a
 * second writer thread on two cores only made three busy threads share them: about 2 s more CPU per 100-symbol
 * month ingest for no shorter wall (BENCHMARKS.md, "Issue 12 · writes on worker threads").
 */
export const poolSize = (cores: number = navigator.hardwareConcurrency): number =>
  Math.min(4, Math.max(1, Number.isFinite(cores) ? Math.floor(cores) - 1 : 1))

/**
 * The writer thread's code. From the sources it is the file beside this one; in a compiled binary Bun keeps each
 * entrypoint at its path under the bundle's root, where a relative name finds it (`scripts/build.ts` adds it).
 */
const defaultWorkerUrl = (): string =>
  import.meta.url.includes("/$bunfs/")
    ? "./src/lake/write-worker.ts"
    : new URL("./write-worker.ts", import.meta.url).href

export interface WritePoolOptions {
  /** Threads at most (default `poolSize()`). */
  readonly size?: number
  /** The thread's code (default the writer thread); tests pass one that can be made to crash. */
  readonly workerUrl?: string
}

interface Pending {
  readonly job: WriteJob
  readonly settle: (result: Effect.Effect<WriteOutcome, StorageError>) => void
}

interface Slot {
  readonly worker: Worker
  readonly pending: Map<number, Pending>
  /** It posted `ready`: its code loaded, so a death now is the thread's, not the pool's setup. */
  ready: boolean
  gone: boolean
}

const decodeMessage = Schema.decodeUnknownOption(WriterMessage)

export const makeWritePool = (options: WritePoolOptions = {}): Effect.Effect<LakeWritersShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const size = Math.max(1, options.size ?? poolSize())
    const bound = size * JOBS_PER_WORKER
    const url = options.workerUrl ?? defaultWorkerUrl()
    const permits = yield* Semaphore.make(bound)
    const slots: Array<Slot> = []
    let nextId = 0
    let started = 0
    let inFlight = 0
    let mostInFlight = 0
    let closed = false
    let sameThread = typeof Worker === "undefined"

    const fallBack = (why: string) => {
      if (sameThread) return
      sameThread = true
      process.stderr.write(`warning: lake writes run on the main thread: the writer threads could not start (${why})\n`)
    }

    const died = (slot: Slot, why: string) => {
      if (slot.gone) return
      slot.gone = true
      slots.splice(slots.indexOf(slot), 1)
      slot.worker.terminate()
      // A thread that never loaded has run none of its jobs: they are safe to run here instead.
      if (!slot.ready) fallBack(why)
      for (const p of slot.pending.values()) {
        p.settle(
          slot.ready
            ? Effect.fail(
                new StorageError({
                  path: p.job.path,
                  reason: `the lake writer thread stopped (${why}); the file is as it was`
                })
              )
            : runWriteJob(p.job, "main")
        )
      }
      slot.pending.clear()
    }

    const received = (slot: Slot, data: unknown) => {
      const message = decodeMessage(data)
      if (message._tag === "None") return died(slot, "it sent a message that is not a write reply")
      const m = message.value
      if ("ready" in m) {
        slot.ready = true
        return
      }
      const pending = slot.pending.get(m.id)
      if (pending === undefined) return
      slot.pending.delete(m.id)
      pending.settle(
        m.ok ? Effect.succeed(m.outcome) : Effect.fail(new StorageError({ path: m.path, reason: m.reason }))
      )
    }

    const spawn = (): Slot | undefined => {
      let worker: Worker
      try {
        worker = new Worker(url, { type: "module" })
      } catch (e) {
        fallBack(e instanceof Error ? e.message : String(e))
        return undefined
      }
      const slot: Slot = { worker, pending: new Map(), ready: false, gone: false }
      worker.addEventListener("message", (event) => received(slot, event.data))
      worker.addEventListener("error", (event) => {
        // Handled here: the thread is replaced, and the process carries on.
        event.preventDefault()
        died(slot, workerErrorLine(event.message ?? ""))
      })
      worker.addEventListener("messageerror", () => died(slot, "a reply could not be read"))
      // Bun's: the thread ended (`process.exit` inside it, or a crash); Deno reports those as errors.
      worker.addEventListener("close", () => died(slot, "it exited"))
      slots.push(slot)
      started++
      return slot
    }

    /** The least busy thread, starting one while some place has none. */
    const pick = (): Slot | undefined => {
      const idle = slots.find((s) => s.pending.size === 0)
      if (idle !== undefined) return idle
      if (slots.length < size) return spawn()
      return slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
    }

    const dispatch = (job: WriteJob, settle: Pending["settle"]) => {
      if (closed) {
        return settle(Effect.fail(new StorageError({ path: job.path, reason: "the lake writers were shut down" })))
      }
      const slot = sameThread ? undefined : pick()
      if (slot === undefined) return settle(runWriteJob(job, "main"))
      const id = nextId++
      slot.pending.set(id, { job, settle })
      const { job: copy, transfer } = transferable(job)
      try {
        slot.worker.postMessage({ id, job: copy } satisfies WriteRequest, transfer)
      } catch (e) {
        slot.pending.delete(id)
        settle(Effect.fail(new StorageError({ path: job.path, reason: e instanceof Error ? e.message : String(e) })))
      }
    }

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const slot of [...slots]) {
          slot.gone = true
          slot.worker.terminate()
          for (const p of slot.pending.values()) {
            p.settle(Effect.fail(new StorageError({ path: p.job.path, reason: "the lake writers were shut down" })))
          }
        }
        slots.length = 0
      })
    )

    const run = (job: WriteJob): Effect.Effect<WriteOutcome, StorageError> =>
      Effect.sync(() => {
        inFlight++
        mostInFlight = Math.max(mostInFlight, inFlight)
      }).pipe(
        // Once posted, the job is waited for even if the caller is interrupted: the thread may still be writing the
        // temp file, which the caller removes when it gives up.
        Effect.andThen(
          Effect.uninterruptible(Effect.callback<WriteOutcome, StorageError>((resume) => dispatch(job, resume)))
        ),
        Effect.ensuring(
          Effect.sync(() => {
            inFlight--
          })
        ),
        Semaphore.withPermits(permits, 1)
      )

    return {
      run,
      stats: () => ({ size, bound, inFlight, mostInFlight, started, running: slots.length, sameThread })
    } satisfies LakeWritersShape
  })

/** The pool as a service: its threads stop when the layer's scope closes, so a CLI run exits when it is done. */
export const lakeWritersLayer = (options: WritePoolOptions = {}): Layer.Layer<LakeWriters> =>
  Layer.effect(LakeWriters, makeWritePool(options))
