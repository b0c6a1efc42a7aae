/**
 * Records the repository keeps: jobs, their partitions (the unit of work), the coverage ledger, validation reports,
 * queued units and metric history. What callers write are plain interfaces; what they read back are schemas that
 * decode a stored row (column names, driver types) into the domain's types.
 */
import { Schema } from "effect"
import type { SessionKind } from "../domain/calendar.ts"
import { Symbol } from "../domain/symbol.ts"
import { Timeframe } from "../domain/timeframe.ts"
import { Count, CountOrZero, Day, Instant, Json, OptionalInstant, OptionalText } from "./internal/columns.ts"

export const jobKinds = ["ingest", "backfill", "aggregate", "validate"] as const
/**
 * `running` until it ends: `succeeded`, `partial` (some partitions failed), `failed`, `abandoned` (its process
 * died, or `jobs fail`) or `cancelled` (`jobs cancel` stopped it at a unit boundary with partitions left unrun).
 */
export const jobStates = ["running", "succeeded", "failed", "partial", "abandoned", "cancelled"] as const
export type JobKind = (typeof jobKinds)[number]
export type JobState = (typeof jobStates)[number]
export type PartitionState = "pending" | "running" | "done" | "failed"
export type CoverageStatus = "complete" | "partial" | "empty" | "missing" | "invalid"

const JobKind = Schema.Literals(jobKinds)
const JobState = Schema.Literals(jobStates)
const PartitionState = Schema.Literals(["pending", "running", "done", "failed"])
const CoverageStatus = Schema.Literals(["complete", "partial", "empty", "missing", "invalid"])
const Session = Schema.Literals(["regular", "extended"])
const NullText = Schema.NullOr(Schema.String)

export interface JobSpec {
  readonly kind: JobKind
  readonly provider: string
  readonly feed: string
  /** One frame, or an aggregation's target frames joined with commas. */
  readonly frame: string
  readonly session: SessionKind
  readonly symbols: ReadonlyArray<string>
  readonly startDay: string
  readonly endDay: string
  /** `host:pid` of the process running the job, so a restart can tell a crashed run from a live one. */
  readonly owner?: string
}

export interface JobTotals {
  readonly partitionsDone: number
  readonly partitionsFailed: number
  readonly barsWritten: number
  readonly barsRejected: number
}

// Field order is the order of `jobs list --json` and every other record printed as JSON.
export const JobRecord = Schema.Struct({
  id: Count,
  kind: JobKind,
  provider: Schema.String,
  feed: Schema.String,
  frame: Schema.String,
  session: Session,
  symbols: Json(Schema.Array(Symbol)),
  startDay: Day,
  endDay: Day,
  owner: OptionalText,
  state: JobState,
  createdAt: Instant,
  finishedAt: Schema.NullOr(Instant),
  partitionsTotal: Count,
  partitionsDone: Count,
  partitionsFailed: Count,
  barsWritten: Count,
  barsRejected: Count,
  error: NullText,
  /** When `jobs cancel` asked the job to stop (absent: never asked). */
  cancelRequestedAt: OptionalInstant
}).pipe(
  Schema.encodeKeys({
    startDay: "start_day",
    endDay: "end_day",
    createdAt: "created_at",
    finishedAt: "finished_at",
    partitionsTotal: "partitions_total",
    partitionsDone: "partitions_done",
    partitionsFailed: "partitions_failed",
    barsWritten: "bars_written",
    barsRejected: "bars_rejected",
    cancelRequestedAt: "cancel_requested_at"
  })
)
export type JobRecord = typeof JobRecord.Type

export interface PartitionRef {
  readonly frame: string
  readonly symbol: string
  readonly day: string
}

export const PartitionRecord = Schema.Struct({
  jobId: Count,
  frame: Timeframe,
  symbol: Symbol,
  day: Day,
  state: PartitionState,
  rows: Schema.NullOr(Count),
  rejected: Schema.NullOr(Count),
  hash: NullText,
  attempts: Count,
  error: NullText,
  updatedAt: Instant
}).pipe(Schema.encodeKeys({ jobId: "job_id", updatedAt: "updated_at" }))
export type PartitionRecord = typeof PartitionRecord.Type

/** What one finished partition adds to the ledger. */
export interface PartitionResult extends PartitionRef {
  readonly rows: number
  readonly rejected: number
  readonly expected: number
  readonly status: CoverageStatus
  /** 1m: the day's content hash; derived frames: the hash of the 1m day they were built from. */
  readonly hash: string
  /** The hash of the rows the file holds for the day, as written. */
  readonly contentHash: string
  readonly file: string
  /** Why a provider further down `providers_chain` filled the day; absent for every other write. */
  readonly filledFor?: string | undefined
}

export const CoverageRecord = Schema.Struct({
  frame: Timeframe,
  symbol: Symbol,
  day: Day,
  session: Session,
  expected: Count,
  observed: Count,
  status: CoverageStatus,
  provider: Schema.String,
  feed: Schema.String,
  file: NullText,
  hash: NullText,
  /** The hash of the rows the file holds for the day (null for rows written before it was recorded). */
  contentHash: NullText,
  jobId: Count,
  updatedAt: Instant,
  /** Why the last fetch failed (status `missing`). */
  error: NullText,
  /** Set when a provider after the first of `providers_chain` filled the day: why the one before did not. */
  filledFor: NullText
}).pipe(
  Schema.encodeKeys({ contentHash: "content_hash", jobId: "job_id", updatedAt: "updated_at", filledFor: "filled_for" })
)
export type CoverageRecord = typeof CoverageRecord.Type

export const ValidationTotal = Schema.Struct({ rule: Schema.String, severity: Schema.String, count: Count })

const validationRunFields = {
  jobId: Count,
  kind: Schema.String,
  createdAt: Instant,
  reportCsv: Schema.String,
  reportJson: Schema.String,
  findings: Count,
  errors: Count,
  warnings: Count
}
const validationRunKeys = {
  jobId: "job_id",
  createdAt: "created_at",
  reportCsv: "report_csv",
  reportJson: "report_json"
} as const

/** A `validation_runs` row: a report without its totals (they are rows of `validation_results`). */
export const ValidationRunRow = Schema.Struct(validationRunFields).pipe(Schema.encodeKeys(validationRunKeys))

/** One validation report: a job's findings, where the files are, and totals by rule and severity. */
export const ValidationRun = Schema.Struct({ ...validationRunFields, totals: Schema.Array(ValidationTotal) }).pipe(
  Schema.encodeKeys(validationRunKeys)
)
export type ValidationRun = typeof ValidationRun.Type

/** A queued unit of work (shared by workers through the repository). */
export const QueuedUnit = Schema.Struct({
  id: Count,
  jobId: Count,
  symbols: Json(Schema.Array(Symbol)),
  frame: Timeframe,
  period: Schema.String,
  days: Json(Schema.Array(Day)),
  start: Count,
  end: Count,
  expectedBars: Count,
  attempts: Count
}).pipe(Schema.encodeKeys({ jobId: "job_id", start: "start_ms", end: "end_ms", expectedBars: "expected_bars" }))
export type QueuedUnit = typeof QueuedUnit.Type

/** What a job puts in the queue: a planned unit, before it has an id, a job or attempts. */
export type NewUnit = Omit<QueuedUnit, "id" | "jobId" | "attempts">

export const QueueStatus = Schema.Struct({
  pending: CountOrZero,
  /** Claimed, lease still valid. */
  running: CountOrZero,
  /** Claimed by a worker whose lease ran out: claimable again. */
  expired: CountOrZero,
  done: CountOrZero,
  failed: CountOrZero
})
export type QueueStatus = typeof QueueStatus.Type

/** One counter value of one run, with its labels (`provider` and `feed` also as columns). */
export interface MetricSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** A counter's total over stored runs, per label set. */
export const MetricTotal = Schema.Struct({
  name: Schema.String,
  labels: Json(Schema.Record(Schema.String, Schema.String)),
  value: Count,
  runs: Count
})
export type MetricTotal = typeof MetricTotal.Type

/** The ledger summed per provider, feed and frame: completeness and the newest complete day. */
export const CoverageSummary = Schema.Struct({
  provider: Schema.String,
  feed: Schema.String,
  frame: Schema.String,
  observed: Count,
  expected: Count,
  newestComplete: Schema.NullOr(Day)
}).pipe(Schema.encodeKeys({ newestComplete: "newest" }))
export type CoverageSummary = typeof CoverageSummary.Type

/** Where a job's bars come from; stored with every ledger row. */
export interface BarSource {
  readonly provider: string
  readonly feed: string
  readonly session: string
}

/** Ledger status of a fetched day: `partial` is normal for thin symbols (minutes with no trade have no bar). */
export const coverageStatus = (observed: number, expected: number, rejected: number): CoverageStatus =>
  observed === 0 ? (rejected > 0 ? "invalid" : "empty") : observed >= expected ? "complete" : "partial"
