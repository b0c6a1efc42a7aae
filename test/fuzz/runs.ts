/**
 * Shared settings and the property runner for the fuzz tests (`test/fuzz/*.test.ts`).
 *
 * - Cases per property: `MARKETPIPE_FUZZ_RUNS` (`npm run fuzz` sets 100000); unset, each property runs its small CI
 *   count. The seed is fixed (`MARKETPIPE_FUZZ_SEED` overrides it), so a CI failure replays exactly.
 * - Each case is bounded: an asynchronous hang is interrupted after `timeoutMs`, synchronous work over it fails the
 *   case when it returns, and one that never returns (a decoder loop) is caught by a watchdog thread that names the
 *   property and case, then kills the run (`MARKETPIPE_FUZZ_TRACE=<file>` keeps the running case's input there).
 * - Only what the property returns decides: a thrown exception, a defect or an interruption is a failure too.
 * - `MARKETPIPE_FUZZ_STATS=1` prints how often each outcome (`label`) occurred: what the generated cases reach.
 */
import { writeFileSync, writeSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { Arbitrary, Cause, Effect, Schema } from "effect"

const envRuns = Number(process.env.MARKETPIPE_FUZZ_RUNS)
/** Set when `MARKETPIPE_FUZZ_RUNS` asks for a count. */
export const ON_DEMAND = Number.isSafeInteger(envRuns) && envRuns > 0

/** The run's seed: fixed so CI is reproducible; printed with every failure. */
export const FUZZ_SEED = (() => {
  const raw = process.env.MARKETPIPE_FUZZ_SEED
  const n = raw === undefined || raw === "" ? Number.NaN : Number(raw)
  return Number.isSafeInteger(n) ? n : 20_260_611
})()

/** Cases for a property: `MARKETPIPE_FUZZ_RUNS` when set, else the property's CI count. */
export const runsOf = (ciRuns: number): number => (ON_DEMAND ? envRuns : ciRuns)

/**
 * Generous per-case bound: a case that has not answered by then hangs. Cases take milliseconds; the bound is wide
 * because it is wall-clock time, and a loaded CI machine can stall a process for seconds.
 */
export const CASE_TIMEOUT_MS = 60_000

/** `MARKETPIPE_FUZZ_REPLAY=<token>` (printed with a failure): runs just that case again, and its shrinking. */
const REPLAY = process.env.MARKETPIPE_FUZZ_REPLAY || undefined

/** `MARKETPIPE_FUZZ_TRACE=<file>`: each case's input is written there before it runs (to see a case that hangs). */
const TRACE = process.env.MARKETPIPE_FUZZ_TRACE || undefined

/** A synchronous case running this long is stuck (the event loop never came back). */
const SYNC_HANG_MS = 120_000

/** Per-property seed: the run's seed mixed with the property's name, so properties do not mirror each other. */
export function seedFor(name: string): number {
  let h = 0x811c9dc5 ^ FUZZ_SEED
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

// ---------------------------------------------------------------------------------------------------------------
// Watchdog: a worker thread reads a heartbeat the test thread bumps before every case. The shared buffer holds
// [heartbeat, active, name length] and the property's name, so a stuck case can be named without the test thread.

const NAME_BYTES = 512
const shared = new SharedArrayBuffer(12 + NAME_BYTES)
const beat = new Int32Array(shared, 0, 3)
const nameBytes = new Uint8Array(shared, 12, NAME_BYTES)
let watchdog: Worker | undefined

const watchdogSource = `
const { workerData } = require("node:worker_threads")
const { writeSync } = require("node:fs")
const beat = new Int32Array(workerData.shared, 0, 3)
const name = new Uint8Array(workerData.shared, 12, ${NAME_BYTES})
let last = -1
let since = Date.now()
setInterval(() => {
  const now = Atomics.load(beat, 0)
  if (now !== last || Atomics.load(beat, 1) === 0) { last = now; since = Date.now(); return }
  if (Date.now() - since < ${SYNC_HANG_MS}) return
  const label = new TextDecoder().decode(name.slice(0, Atomics.load(beat, 2)))
  writeSync(2, "\\nFUZZ WATCHDOG: " + label + ": case " + now + " has not returned for ${SYNC_HANG_MS / 1000} s " +
    "(a synchronous loop that never ends); rerun with the same MARKETPIPE_FUZZ_SEED / MARKETPIPE_FUZZ_RUNS and MARKETPIPE_FUZZ_TRACE=<file> to see its input\\n")
  process.kill(process.pid, "SIGKILL")
}, 1000)
`

function watch(label: string): void {
  if (watchdog === undefined) {
    watchdog = new Worker(watchdogSource, { eval: true, workerData: { shared } })
    watchdog.unref()
  }
  const bytes = new TextEncoder().encode(label).subarray(0, NAME_BYTES)
  nameBytes.set(bytes)
  Atomics.store(beat, 2, bytes.length)
  Atomics.store(beat, 0, 0)
  Atomics.store(beat, 1, 1)
}

const unwatch = () => Atomics.store(beat, 1, 0)

// ---------------------------------------------------------------------------------------------------------------
// Coverage labels: `MARKETPIPE_FUZZ_STATS=1` prints how often each outcome occurred, to see what the cases reach.

const STATS = process.env.MARKETPIPE_FUZZ_STATS === "1"
let labels = new Map<string, number>()

/** Counts one outcome of the current case (a no-op unless `MARKETPIPE_FUZZ_STATS=1`). */
export function label(outcome: string): void {
  if (STATS) labels.set(outcome, (labels.get(outcome) ?? 0) + 1)
}

function printLabels(name: string): void {
  if (!STATS) return
  const total = [...labels.values()].reduce((a, b) => a + b, 0)
  const lines = [...labels]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${k}`)
  writeSync(2, `\n${name}: ${total} outcomes\n${lines.slice(0, 40).join("\n")}\n`)
  labels = new Map()
}

// ---------------------------------------------------------------------------------------------------------------
// The runner

export interface PropertyOptions<A> {
  /** Cases when `MARKETPIPE_FUZZ_RUNS` is not set. */
  readonly ciRuns: number
  /** Cases whatever `MARKETPIPE_FUZZ_RUNS` says (for costly targeted properties). */
  readonly fixedRuns?: number
  readonly timeoutMs?: number
  /** Shrink candidates tried after a failure (each may cost up to `timeoutMs`). */
  readonly maxShrinks?: number
  /** What a failing input looks like in the report (default: the input itself, cut to a few KB). */
  readonly show?: (input: A) => unknown
}

const MAX_REPORT_CHARS = 6000

const cut = (text: string) =>
  text.length <= MAX_REPORT_CHARS ? text : `${text.slice(0, MAX_REPORT_CHARS)}… (${text.length} characters)`

/**
 * Checks `property` on `options.ciRuns` (or `MARKETPIPE_FUZZ_RUNS`) generated inputs. The property fails with a
 * string saying what broke; a defect, a thrown exception, an interruption or a case over `timeoutMs` fails it too.
 * Resolves with the number of cases run; throws an error naming the seed and the (shrunk) input otherwise.
 */
export async function checkProperty<A>(
  name: string,
  arbitrary: Arbitrary.Arbitrary<A>,
  property: (input: A) => Effect.Effect<void, string>,
  options: PropertyOptions<A>
): Promise<number> {
  const runs = options.fixedRuns ?? runsOf(options.ciRuns)
  const timeoutMs = options.timeoutMs ?? CASE_TIMEOUT_MS
  const seed = seedFor(name)
  const show = options.show ?? ((a: A) => a)
  const guarded = (input: A): Effect.Effect<boolean, string> => {
    let started = 0
    return Effect.suspend(() => {
      Atomics.add(beat, 0, 1)
      if (TRACE !== undefined) writeFileSync(TRACE, `${name} case ${Atomics.load(beat, 0)}\n${format(show(input))}\n`)
      started = performance.now()
      return property(input)
    }).pipe(
      // An asynchronous hang is interrupted here; synchronous work cannot be, so its time is checked after it.
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(`no answer within ${timeoutMs} ms: the case hangs`)
      }),
      Effect.flatMap(() => {
        const ms = performance.now() - started
        return ms > timeoutMs ? Effect.fail(`took ${Math.round(ms)} ms, over the ${timeoutMs} ms bound`) : Effect.void
      }),
      Effect.catchCause((cause) =>
        Cause.hasFails(cause) && !Cause.hasDies(cause) && !Cause.hasInterrupts(cause)
          ? Effect.fail(String(Cause.squash(cause)))
          : Effect.fail(`defect or interruption, not a typed result:\n${Cause.pretty(cause)}`)
      ),
      Effect.as(true)
    )
  }
  watch(name)
  let result: Arbitrary.CheckResult<A, string>
  try {
    result = await Effect.runPromise(
      Arbitrary.checkEffect(arbitrary, guarded, {
        runs,
        seed,
        maxShrinks: options.maxShrinks ?? 30,
        ...(REPLAY === undefined ? {} : { replay: REPLAY })
      })
    )
  } finally {
    unwatch()
    printLabels(name)
  }
  if (result._tag === "Passed") return result.runs
  const replay = `MARKETPIPE_FUZZ_SEED=${FUZZ_SEED} MARKETPIPE_FUZZ_RUNS=${runs}`
  if (result._tag === "Falsified") {
    const failure = result.failure._tag === "PropertyError" ? result.failure.error : "returned false"
    const message = [
      `fuzz property "${name}" falsified after ${result.runs} of ${runs} case(s) (${result.shrinks} shrink(s))`,
      `seed: ${FUZZ_SEED} (property seed ${seed}); replay: ${replay} bun test test/fuzz -t "${name}"`,
      `failure: ${cut(failure)}`,
      `this case alone: MARKETPIPE_FUZZ_REPLAY='${result.replay}' bun test test/fuzz -t "${name}"`,
      `shrunk input: ${cut(format(show(result.shrunkInput)))}`
    ].join("\n")
    throw new Error(message)
  }
  throw new Error(
    `fuzz property "${name}": ${Arbitrary.formatCheckFailure(result) ?? result._tag} (seed ${FUZZ_SEED}, ${replay})`
  )
}

/** A value for a failure report: JSON where possible, typed arrays and long strings shortened. */
export function format(value: unknown): string {
  try {
    return JSON.stringify(
      value,
      (_, v) =>
        v instanceof Uint8Array
          ? `<${v.length} bytes>`
          : typeof v === "string" && v.length > 300
            ? `${v.slice(0, 300)}… (${v.length} characters)`
            : typeof v === "bigint"
              ? `${v}n`
              : v,
      1
    )
  } catch {
    return String(value)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small arbitraries every boundary uses

/** An integer in `[minimum, maximum]`. */
export const int = (minimum: number, maximum: number): Arbitrary.Arbitrary<number> =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/** A position or choice seed: any non-negative 31-bit integer (callers reduce it modulo a length). */
export const anyIndex = int(0, 2 ** 31 - 1)

/** One of `values`, equally likely. */
export const oneOf = <const A extends ReadonlyArray<unknown>>(values: A): Arbitrary.Arbitrary<A[number]> =>
  Arbitrary.map(int(0, values.length - 1), (i) => values[i] as A[number])

/** One of several arbitraries; listing one more than once weights it. */
export const union = <A>(members: ReadonlyArray<Arbitrary.Arbitrary<A>>): Arbitrary.Arbitrary<A> =>
  Arbitrary.flatMap(int(0, members.length - 1), (i) => members[i] as Arbitrary.Arbitrary<A>)

/** A fixed value. */
export const constant = <const A>(value: A): Arbitrary.Arbitrary<A> => Arbitrary.Constant(value)
