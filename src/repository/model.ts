/** Records the repository keeps: jobs, their partitions (the unit of work) and the coverage ledger. */
import type { SessionKind } from "../domain/calendar.ts"

export type JobKind = "ingest" | "backfill" | "aggregate" | "validate"
export type JobState = "running" | "succeeded" | "failed" | "partial" | "abandoned"
export type PartitionState = "pending" | "running" | "done" | "failed"
export type CoverageStatus = "complete" | "partial" | "empty" | "missing" | "invalid"

export interface JobSpec {
  readonly kind: JobKind
  readonly provider: string
  readonly feed: string
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

export interface JobRecord extends JobSpec, JobTotals {
  readonly id: number
  readonly state: JobState
  readonly createdAt: string
  readonly finishedAt: string | null
  readonly partitionsTotal: number
  readonly error: string | null
}

export interface PartitionRef {
  readonly frame: string
  readonly symbol: string
  readonly day: string
}

export interface PartitionRecord extends PartitionRef {
  readonly jobId: number
  readonly state: PartitionState
  readonly rows: number | null
  readonly rejected: number | null
  readonly hash: string | null
  readonly attempts: number
  readonly error: string | null
  readonly updatedAt: string
}

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
}

export interface CoverageRecord extends PartitionRef {
  readonly session: SessionKind
  readonly expected: number
  readonly observed: number
  readonly status: CoverageStatus
  readonly provider: string
  readonly feed: string
  readonly file: string | null
  readonly hash: string | null
  /** The hash of the rows the file holds for the day (null for rows written before it was recorded). */
  readonly contentHash: string | null
  readonly jobId: number
  readonly updatedAt: string
  /** Why the last fetch failed (status `missing`). */
  readonly error: string | null
}

/** One validation report: a job's findings, where the files are, and totals by rule and severity. */
export interface ValidationRun {
  readonly jobId: number
  readonly kind: string
  readonly createdAt: string
  readonly reportCsv: string
  readonly reportJson: string
  readonly findings: number
  readonly errors: number
  readonly warnings: number
  readonly totals: ReadonlyArray<{ readonly rule: string; readonly severity: string; readonly count: number }>
}

/** A queued unit of work (shared by workers through the repository). */
export interface QueuedUnit {
  readonly id: number
  readonly jobId: number
  readonly symbols: ReadonlyArray<string>
  readonly frame: string
  readonly period: string
  readonly days: ReadonlyArray<string>
  readonly start: number
  readonly end: number
  readonly expectedBars: number
  readonly attempts: number
}

export interface QueueStatus {
  readonly pending: number
  /** Claimed, lease still valid. */
  readonly running: number
  /** Claimed by a worker whose lease ran out: claimable again. */
  readonly expired: number
  readonly done: number
  readonly failed: number
}

/** One counter value of one run, with its labels (`provider` and `feed` also as columns). */
export interface MetricSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The ledger summed per provider, feed and frame: completeness and the newest complete day. */
export interface CoverageSummary {
  readonly provider: string
  readonly feed: string
  readonly frame: string
  readonly observed: number
  readonly expected: number
  readonly newestComplete: string | null
}

/** Where a job's bars come from; stored with every ledger row. */
export interface BarSource {
  readonly provider: string
  readonly feed: string
  readonly session: string
}

/** Ledger status of a fetched day: `partial` is normal for thin symbols (minutes with no trade have no bar). */
export const coverageStatus = (observed: number, expected: number, rejected: number): CoverageStatus =>
  observed === 0 ? (rejected > 0 ? "invalid" : "empty") : observed >= expected ? "complete" : "partial"
