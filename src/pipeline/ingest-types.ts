/** What an ingest run is asked for and what it reports: the request, progress, failures and the summary. */
import type { Effect, Schedule } from "effect"
import type { DerivationPlan } from "../aggregation/derive.ts"
import type { SessionKind, TradingCalendar, TradingDay } from "../domain/calendar.ts"
import type { SplitAction } from "../domain/corporate-action.ts"
import type { ProviderError, StorageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import type { Finding, RuleSettings } from "../domain/validation.ts"
import type { ProviderClient } from "../providers/contract.ts"
import type { JobKind, JobRecord } from "../repository/model.ts"
import type { Plan } from "./plan.ts"

export interface IngestRequest {
  readonly kind: JobKind
  readonly provider: string
  readonly client: ProviderClient
  readonly calendar: TradingCalendar
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: TradingDay
  readonly to: TradingDay
  readonly frame: Timeframe
  readonly feed: string
  readonly session: SessionKind
  /**
   * A fill along `providers_chain`: why the day is asked of this provider (`…; filled by <provider>`), recorded with
   * the day in one transaction, so a crash never leaves a filled day without its reason.
   */
  readonly filling?: ((symbol: string, day: string) => string | undefined) | undefined
  readonly adjustment: string
  readonly concurrency: number
  /** The provider's request limits, for grouping symbols (defaults: one symbol per request). */
  readonly maxBarsPerRequest?: number
  readonly maxSymbolsPerRequest?: number
  /** Partitions the ledger already covers are not fetched (backfill); ingest fetches everything. */
  readonly covered?: (symbol: string, day: string) => boolean
  /**
   * `--revalidate`: days of this window the ledger has are fetched again and compared with it; a changed day is
   * rewritten with a `revisions` record, an unchanged one is left alone (`revalidation.ts`).
   */
  readonly revalidate?: { readonly from: TradingDay; readonly to: TradingDay } | undefined
  /** Days a symbol was not listed are not planned (`PlanInput.listed`). */
  readonly listed?: (symbol: string, day: string) => boolean

  /** UTC ms; days whose session has not closed are left out. */
  readonly now?: number
  /** Retry policy for retryable provider errors (tests pass a fast one). */
  readonly retry?: Schedule.Schedule<unknown, ProviderError>
  /** `host:pid` of this process, recorded on the job so a restart can tell a crash from a live run. */
  readonly owner?: string
  /** The splits on record per symbol, for the `suspected_split` / `split_mismatch` warnings (absent: not checked). */
  readonly splits?: ((symbol: string) => ReadonlyArray<SplitAction>) | undefined
  /** Rule severities and thresholds (config `validation`); the defaults otherwise. */
  readonly rules?: RuleSettings
  /** Higher frames to build from the 1m days each unit writes, in the same unit (absent: none). */
  readonly aggregation?: DerivationPlan
  /** Where the first `FINDINGS_KEPT` findings go, for the report (absent: they are only counted). */
  readonly findings?: FindingsSink
}

/** Takes findings as units finish, in that order (the validation report's spool). */
export interface FindingsSink {
  readonly add: (findings: ReadonlyArray<Finding>) => Effect.Effect<void, StorageError>
}

export interface IngestProgress {
  readonly partitionsTotal: number
  readonly partitionsDone: number
  readonly partitionsFailed: number
  readonly barsWritten: number
  readonly barsRejected: number
}

export interface UnitFailure {
  readonly symbol: string
  readonly days: ReadonlyArray<string>
  readonly error: string
}

export interface IngestSummary {
  readonly job: JobRecord
  readonly plan: Omit<Plan, "units">
  readonly tradingDays: number
  readonly failures: ReadonlyArray<UnitFailure>
  /** Quarantined bars by rule, warnings by rule. */
  readonly rejectedByRule: Readonly<Record<string, number>>
  readonly warningsByRule: Readonly<Record<string, number>>
  /** Findings the report lists, handed to the request's sink (at most `FINDINGS_KEPT`; the counts are complete). */
  readonly findingsKept: number
  /** `--revalidate`: days of the window found rewritten by the provider (and rewritten), and found unchanged. */
  readonly revalidated?: { readonly revised: number; readonly unchanged: number }
  /** Higher-frame days the units built from their 1m days, per frame, and the bars written for them. */
  readonly derived: { readonly days: Readonly<Record<string, number>>; readonly bars: number }
}

/** Findings one run's report lists; beyond this only the counts grow. */
export const FINDINGS_KEPT = 200_000
