/**
 * The `JobRepository` service: jobs, partitions and the coverage ledger. Callers never see which database is behind
 * it; `layer.ts` picks SQLite or (later) Postgres from `database_url`.
 */
import { Context, type Effect } from "effect"
import type { RepositoryError } from "../domain/errors.ts"
import type {
  BarSource,
  CoverageRecord,
  CoverageSummary,
  JobRecord,
  JobSpec,
  JobTotals,
  MetricSample,
  PartitionRecord,
  PartitionRef,
  PartitionResult,
  QueuedUnit,
  QueueStatus,
  ValidationRun
} from "./model.ts"

export interface JobRepositoryShape {
  /** Creates a running job and its pending partitions. */
  readonly createJob: (
    spec: JobSpec,
    partitions: ReadonlyArray<PartitionRef>
  ) => Effect.Effect<JobRecord, RepositoryError>
  readonly markRunning: (jobId: number, partitions: ReadonlyArray<PartitionRef>) => Effect.Effect<void, RepositoryError>
  /** Marks partitions done and records them in the ledger, in one transaction, after their file is in place. */
  readonly recordDone: (
    jobId: number,
    source: BarSource,
    results: ReadonlyArray<PartitionResult>
  ) => Effect.Effect<void, RepositoryError>
  /** Marks partitions failed; the ledger gets `missing` with the reason where it had nothing better. */
  readonly recordFailed: (
    jobId: number,
    source: BarSource,
    partitions: ReadonlyArray<PartitionRef>,
    error: string
  ) => Effect.Effect<void, RepositoryError>
  /**
   * Withdraws ledger claims the lake cannot back (`ledger verify --repair`): the days become `missing` with the
   * reason, so the next backfill fetches them and aggregation rebuilds derived days.
   */
  readonly markMissing: (refs: ReadonlyArray<PartitionRef>, reason: string) => Effect.Effect<void, RepositoryError>
  /**
   * Jobs left `running` by a process that is gone (crash, kill -9, power loss) become `abandoned` and their
   * unfinished partitions `failed`, so the ledger-driven plan redoes them. Returns the jobs it closed.
   */
  readonly abandonStale: (isAlive: (owner: string) => boolean) => Effect.Effect<ReadonlyArray<number>, RepositoryError>
  /** Records a validation report and its totals (one per job). */
  readonly recordValidation: (run: Omit<ValidationRun, "createdAt">) => Effect.Effect<void, RepositoryError>
  readonly listValidations: (limit: number) => Effect.Effect<ReadonlyArray<ValidationRun>, RepositoryError>
  readonly getValidation: (jobId: number) => Effect.Effect<ValidationRun | undefined, RepositoryError>
  /** Puts a job's units in the shared queue. */
  readonly enqueueUnits: (
    jobId: number,
    units: ReadonlyArray<Omit<QueuedUnit, "id" | "jobId" | "attempts">>
  ) => Effect.Effect<void, RepositoryError>
  /**
   * Claims one unit no live worker holds (pending, or running with an expired lease), leased to `holder` until
   * `now + leaseMs`. Exactly one worker gets each unit (`FOR UPDATE SKIP LOCKED` on Postgres, the write lock on SQLite).
   */
  readonly claimUnit: (holder: string, leaseMs: number) => Effect.Effect<QueuedUnit | undefined, RepositoryError>
  /** Extends a lease; false when the unit is no longer ours (expired and taken over). */
  readonly renewLease: (unitId: number, holder: string, leaseMs: number) => Effect.Effect<boolean, RepositoryError>
  readonly finishUnit: (
    unitId: number,
    holder: string,
    state: "done" | "failed",
    error?: string
  ) => Effect.Effect<void, RepositoryError>
  readonly queueStatus: (jobId?: number) => Effect.Effect<QueueStatus, RepositoryError>
  /** Stores one run's counter values (history that survives the process). */
  readonly recordMetricSamples: (
    runId: string,
    samples: ReadonlyArray<MetricSample>
  ) => Effect.Effect<void, RepositoryError>
  /** Counter totals over stored runs, per name and label set; optionally one metric, or samples since an instant. */
  readonly metricTotals: (filter: {
    readonly name?: string
    readonly since?: string
  }) => Effect.Effect<ReadonlyArray<MetricSample & { readonly runs: number }>, RepositoryError>
  readonly coverageSummary: () => Effect.Effect<ReadonlyArray<CoverageSummary>, RepositoryError>
  /** Jobs with queued units whose units are all finished but which are still marked running. */
  readonly drainedJobs: () => Effect.Effect<ReadonlyArray<number>, RepositoryError>
  readonly finishJob: (jobId: number, totals: JobTotals, error?: string) => Effect.Effect<JobRecord, RepositoryError>
  readonly listJobs: (limit: number) => Effect.Effect<ReadonlyArray<JobRecord>, RepositoryError>
  readonly getJob: (id: number) => Effect.Effect<JobRecord | undefined, RepositoryError>
  readonly partitions: (jobId: number) => Effect.Effect<ReadonlyArray<PartitionRecord>, RepositoryError>
  readonly coverage: (query: {
    readonly frame: string
    readonly symbols: ReadonlyArray<string>
    readonly from: string
    readonly to: string
  }) => Effect.Effect<ReadonlyArray<CoverageRecord>, RepositoryError>
}

export class JobRepository extends Context.Service<JobRepository, JobRepositoryShape>()("marketpipe/JobRepository") {}
