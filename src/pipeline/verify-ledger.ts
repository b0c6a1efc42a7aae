/**
 * `ledger verify`: every claim the ledger makes is checked against the file it names — that the file is there and
 * readable, holds the claimed number of bars for the day, and that those bars hash to what was recorded. Claims the
 * lake cannot back (a lost or truncated file, a day rewritten behind our back) are reported and, with `repair`,
 * withdrawn: the day becomes `missing`, so the next backfill fetches it again. Each file is checked under its lock,
 * so a run writing at the same time is never mistaken for damage.
 */
import { Clock, Effect } from "effect"
import { rowsView } from "../domain/bar.ts"
import { splitByDay } from "../domain/partition.ts"
import { type Timeframe, timeframes } from "../domain/timeframe.ts"
import { batchHash } from "../lake/content-hash.ts"
import { type FileKey, fileKeyId, filePeriod } from "../lake/layout.ts"
import { ParquetSink } from "../lake/parquet-sink.ts"
import { Ledger } from "../repository/ledger.ts"
import type { CoverageRecord } from "../repository/model.ts"
import { letSignalsIn } from "./responsive.ts"

export interface VerifyRequest {
  readonly frames?: ReadonlyArray<Timeframe>
  /** Empty: every symbol the ledger has. */
  readonly symbols: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  readonly repair: boolean
}

export type ProblemKind = "file missing" | "file unreadable" | "bar count differs" | "content differs"

export interface Problem {
  readonly frame: string
  readonly symbol: string
  readonly day: string
  readonly status: string
  readonly claimed: number
  /** Bars the file holds for the day (`null` when the file could not be read). */
  readonly found: number | null
  readonly problem: ProblemKind
  readonly detail: string
  readonly file: string | null
}

export interface VerifySummary {
  readonly claims: number
  readonly files: number
  readonly backed: number
  readonly problems: ReadonlyArray<Problem>
  readonly repaired: number
  /** Unreadable files `repair` moved out of the lake (into `damaged/`). */
  readonly setAside: ReadonlyArray<string>
}

/** Statuses that say something about the lake: bars for complete and partial days, none for empty and invalid. */
const claimsSomething = (r: CoverageRecord) => r.status !== "missing"

/** The hash a claim can be checked against: the recorded content hash (1m rows written before it existed: `hash`). */
const expectedHash = (r: CoverageRecord): string | null => r.contentHash ?? (r.frame === "1m" ? r.hash : null)

/** What the file actually holds for each day: bars and their hash. */
type Holding = ReadonlyMap<string, { readonly rows: number; readonly hash: string }>

const problemOf = (r: CoverageRecord, found: number | null, problem: ProblemKind, detail: string): Problem => ({
  frame: r.frame,
  symbol: r.symbol,
  day: r.day,
  status: r.status,
  claimed: r.observed,
  found,
  problem,
  detail,
  file: r.file
})

/** What is wrong with one claim, given what its file holds; `undefined` when the file backs it. */
function judge(r: CoverageRecord, holding: Holding | undefined): Problem | undefined {
  if (holding === undefined) {
    return r.observed > 0 ? problemOf(r, null, "file missing", "the file is not in the lake") : undefined
  }
  const held = holding.get(r.day)
  const found = held?.rows ?? 0
  if (found !== r.observed) {
    return problemOf(r, found, "bar count differs", `the ledger says ${r.observed} bar(s), the file holds ${found}`)
  }
  const want = expectedHash(r)
  if (held !== undefined && want !== null && held.hash !== want) {
    return problemOf(r, found, "content differs", "the day's bars do not hash to what the ledger recorded")
  }
  return undefined
}

const keyOf = (frame: Timeframe, r: CoverageRecord): FileKey => ({
  frame,
  symbol: r.symbol,
  period: filePeriod(frame, r.day)
})

/** Checks one file's claims (re-read under its lock) and returns the problems. */
const verifyFile = (key: FileKey, request: VerifyRequest) =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    const sink = yield* ParquetSink
    // The ledger rows are read again under the lock: a writer records its rows while it holds it.
    const claims = (yield* ledger.coverage({
      frame: key.frame,
      symbols: [key.symbol],
      from: request.from,
      to: request.to
    }))
      .filter(claimsSomething)
      .filter((r) => filePeriod(key.frame, r.day) === key.period)
    const read = yield* Effect.result(sink.readFile(key))
    let problems: ReadonlyArray<Problem>
    if (read._tag === "Failure") {
      problems = claims.map((r) => problemOf(r, null, "file unreadable", read.failure.reason))
    } else {
      const decoded = read.success
      let holding: Map<string, { rows: number; hash: string }> | undefined
      if (decoded !== undefined) {
        holding = new Map()
        for (const part of splitByDay(decoded.batch.ts)) {
          const hash = batchHash(rowsView(decoded.batch, part.from, part.to))
          holding.set(part.day, { rows: part.to - part.from, hash })
        }
      }
      problems = claims.flatMap((r) => judge(r, holding) ?? [])
    }
    let setAside: string | undefined
    if (request.repair && problems.length > 0) {
      // An unreadable file would fail every later write of its days: it leaves the lake, kept for inspection.
      if (read._tag === "Failure") setAside = yield* sink.setAside(key, yield* Clock.currentTimeMillis)
      yield* ledger.markMissing(
        problems.map((p) => ({ frame: p.frame, symbol: p.symbol, day: p.day })),
        `ledger verify: ${problems[0]?.problem}; refetch`
      )
    }
    return { claims: claims.length, problems, setAside }
  }).pipe((body) => ParquetSink.use((sink) => sink.locked(key, body)))

export const verifyLedger = (request: VerifyRequest) =>
  Effect.gen(function* () {
    const ledger = yield* Ledger
    const frames = request.frames ?? timeframes
    const files = new Map<string, FileKey>()
    for (const frame of frames) {
      const rows = (yield* ledger.coverage({
        frame,
        symbols: request.symbols,
        from: request.from,
        to: request.to
      })).filter(claimsSomething)
      for (const r of rows) {
        const key = keyOf(frame, r)
        files.set(fileKeyId(key), key)
      }
    }
    let claims = 0
    const problems: Array<Problem> = []
    const setAside: Array<string> = []
    for (const key of files.values()) {
      yield* letSignalsIn
      const checked = yield* verifyFile(key, request)
      claims += checked.claims
      problems.push(...checked.problems)
      if (checked.setAside !== undefined) setAside.push(checked.setAside)
    }
    return {
      claims,
      files: files.size,
      backed: claims - problems.length,
      problems,
      repaired: request.repair ? problems.length : 0,
      setAside
    } satisfies VerifySummary
  })
