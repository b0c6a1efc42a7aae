/**
 * The page decode thread: providers' bar pages are parsed and moved into columns there (`bar-columns.ts`), so the
 * main thread of an HTTP ingest fetches, validates and records instead of parsing JSON. One thread, started by the
 * first page and stopped with the layer's scope. Decoding is pure, so trouble with the thread never costs data: pages
 * are decoded on the main thread until the thread has loaded, and from then on if it cannot start or stops (a page
 * lost with a dying thread is fetched again by the HTTP kit's retry).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { workerErrorLine } from "../../domain/worker-error.ts"
import { type BarColumnsSpec, type ColumnsReply, readBarColumns } from "./bar-columns.ts"

/**
 * A decode's outcome: the columns; or the page's bytes back when they are not what the spec describes (`json`,
 * `shape`), for the caller to decode with its Schema; or `thread` when the thread stopped with the page (fetch again).
 */
export type DecodeOutcome =
  | Extract<ColumnsReply, { readonly ok: true }>
  | { readonly ok: false; readonly why: "json" | "shape"; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly why: "thread" }

const decodeHere = (spec: BarColumnsSpec, bytes: Uint8Array): DecodeOutcome => {
  const reply = readBarColumns(spec, bytes)
  return reply.ok ? reply : { ...reply, bytes }
}

export interface PageDecodersShape {
  /** Decodes one page; `bytes` may be moved to the thread (detached here) and must not be used again. */
  readonly decode: (spec: BarColumnsSpec, bytes: Uint8Array) => Effect.Effect<DecodeOutcome>
  /** Starts the thread if it is not running and waits until it has loaded: true, or false when pages decode here. */
  readonly ready: Effect.Effect<boolean>
  readonly stats: () => { readonly onThread: number; readonly here: number; readonly sameThread: boolean }
}

export class PageDecoders extends Context.Service<PageDecoders, PageDecodersShape>()("marketpipe/PageDecoders") {}

/** Decoding on the caller's thread: what runs without the service (tests, library use) or when the thread fails. */
export const sameThreadDecoders: PageDecodersShape = {
  decode: (spec, bytes) => Effect.sync(() => decodeHere(spec, bytes)),
  ready: Effect.succeed(false),
  stats: () => ({ onThread: 0, here: 0, sameThread: true })
}

/** From the sources the file beside this one; in a compiled binary the entrypoint at its path (`scripts/build.ts`). */
const defaultWorkerUrl = (): string =>
  import.meta.url.includes("/$bunfs/")
    ? "./src/providers/kit/decode-worker.ts"
    : new URL("./decode-worker.ts", import.meta.url).href

type Reply =
  | { readonly id: number; readonly reply: ColumnsReply; readonly bytes?: Uint8Array }
  | { readonly ready: true }

const isReply = (data: unknown): data is Reply =>
  typeof data === "object" &&
  data !== null &&
  ("ready" in data ||
    (typeof (data as { id?: unknown }).id === "number" &&
      typeof (data as { reply?: { ok?: unknown } }).reply?.ok === "boolean"))

export const makeDecodePool = (
  options: { readonly workerUrl?: string } = {}
): Effect.Effect<PageDecodersShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const url = options.workerUrl ?? defaultWorkerUrl()
    let worker: Worker | undefined
    let loaded = false
    let sameThread = typeof Worker === "undefined"
    let closed = false
    let nextId = 0
    let onThread = 0
    let here = 0
    const pending = new Map<number, (outcome: DecodeOutcome) => void>()
    // Whoever waits for the thread to load (`ready`), told once it has or once pages decode here for good.
    let waiting: Array<(loaded: boolean) => void> = []
    const settleWaiting = () => {
      for (const tell of waiting) tell(loaded)
      waiting = []
    }

    const stop = (why: string | undefined) => {
      const w = worker
      worker = undefined
      loaded = false
      w?.terminate()
      if (why !== undefined && !sameThread) {
        sameThread = true
        process.stderr.write(`warning: provider pages are decoded on the main thread: the decode thread ${why}\n`)
      }
      for (const resume of pending.values()) resume({ ok: false, why: "thread" })
      pending.clear()
      settleWaiting()
    }

    const start = (): void => {
      if (worker !== undefined || sameThread || closed) return
      try {
        const w = new Worker(url, { type: "module" })
        w.addEventListener("message", (event) => {
          const data: unknown = event.data
          if (!isReply(data)) return stop("sent a message that is not a decode reply")
          if ("ready" in data) {
            loaded = true
            return settleWaiting()
          }
          const resume = pending.get(data.id)
          pending.delete(data.id)
          if (data.reply.ok) resume?.(data.reply)
          else if (data.bytes instanceof Uint8Array) resume?.({ ...data.reply, bytes: data.bytes })
          else resume?.({ ok: false, why: "thread" })
        })
        w.addEventListener("error", (event) => {
          event.preventDefault()
          stop(`failed (${workerErrorLine(event.message ?? "")})`)
        })
        w.addEventListener("messageerror", () => stop("sent a reply that could not be read"))
        w.addEventListener("close", () => stop(closed ? undefined : "exited"))
        worker = w
      } catch (e) {
        sameThread = true
        process.stderr.write(
          `warning: provider pages are decoded on the main thread: the decode thread could not start (${e instanceof Error ? e.message : String(e)})\n`
        )
      }
    }

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        stop(undefined)
      })
    )

    const ready: PageDecodersShape["ready"] = Effect.suspend(() => {
      start()
      if (loaded || worker === undefined) return Effect.succeed(loaded)
      return Effect.callback<boolean>((resume) => {
        waiting.push((ok) => resume(Effect.succeed(ok)))
      })
    })

    const decode: PageDecodersShape["decode"] = (spec, bytes) =>
      Effect.suspend(() => {
        start()
        const w = worker
        // Until the thread has loaded (and if it never does) the page is decoded here: none waits or is lost.
        if (w === undefined || !loaded) {
          here++
          return sameThreadDecoders.decode(spec, bytes)
        }
        onThread++
        return Effect.callback<DecodeOutcome>((resume) => {
          const id = nextId++
          pending.set(id, (outcome) => resume(Effect.succeed(outcome)))
          try {
            w.postMessage({ id, spec, bytes }, [bytes.buffer as ArrayBuffer])
          } catch {
            pending.delete(id)
            resume(Effect.sync(() => decodeHere(spec, bytes)))
          }
          return Effect.sync(() => {
            pending.delete(id)
          })
        })
      })

    return { decode, ready, stats: () => ({ onThread, here, sameThread }) } satisfies PageDecodersShape
  })

/** The decode thread as a service: it stops when the layer's scope closes, so a CLI run exits when it is done. */
export const pageDecodersLayer = (options: { readonly workerUrl?: string } = {}): Layer.Layer<PageDecoders> =>
  Layer.effect(PageDecoders, makeDecodePool(options))
