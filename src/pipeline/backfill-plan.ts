/**
 * Planning a backfill before anything runs: what the ledger already covers, the plan sized and confirmed, the time
 * it needs under the rate limit, and planning into the shared queue instead of running.
 */
import { Effect } from "effect"
import type { TradingDay } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import type { RateLimit } from "../providers/contract.ts"
import { Ledger } from "../repository/ledger.ts"
import type { CoverageStatus } from "../repository/model.ts"
import { noDatabaseYet, type RunContext, storageLayer } from "./context.ts"
import type { IngestRequest } from "./ingest.ts"
import { checkPlanSize, type PlanInput, planWork } from "./plan.ts"
import { enqueueIngest } from "./queue.ts"

export interface CoverageQuery {
  readonly frame: Timeframe
  readonly session: string
  readonly symbols: ReadonlyArray<Symbol>
  readonly from: TradingDay
  readonly to: TradingDay
  /** Statuses to ask for again although the ledger has them. */
  readonly refetch: ReadonlySet<CoverageStatus>
  /** Ask again for the days a provider further down `providers_chain` filled (`--refetch secondary`). */
  readonly refetchFilled?: boolean | undefined
}

/**
 * Which (symbol, day) the ledger covers for this frame and session, except the statuses being refetched. With no
 * database yet it covers nothing, and none is created to say so.
 */
export const ledgerCovers = (ctx: RunContext, q: CoverageQuery) =>
  noDatabaseYet(ctx)
    ? Effect.succeed((_symbol: string, _day: string) => false)
    : Effect.gen(function* () {
        const records = yield* Ledger.use((r) =>
          r.coverage({ frame: q.frame, symbols: q.symbols, from: q.from, to: q.to })
        )
        const have = new Set(
          records
            .filter(
              (r) =>
                r.session === q.session &&
                r.status !== "missing" &&
                !q.refetch.has(r.status) &&
                !(q.refetchFilled === true && r.filledFor !== null)
            )
            .map((r) => `${r.symbol}|${r.day}`)
        )
        return (symbol: string, day: string) => have.has(`${symbol}|${day}`)
      }).pipe(Effect.provide(storageLayer(ctx)))

/** The plan a request would run, refused when bigger than a run may be without `confirmed`; nothing is opened. */
export const sizedPlan = (request: PlanInput, confirmed: boolean) =>
  Effect.try({
    try: () => {
      const plan = planWork(request)
      if (!confirmed) checkPlanSize(plan, request.symbols.length)
      return plan
    },
    catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "input", reason: String(e) }))
  })

/** Seconds the plan's requests need at least under a rate limit: a burst, then even spacing. */
export const quotaSeconds = (requests: number, limit: RateLimit | null): number | undefined =>
  limit === null ? undefined : Math.max(0, requests - limit.requests) * (limit.perSeconds / limit.requests)

/** Plans the job into the shared queue for `marketpipe worker`; nothing is fetched here. */
export const enqueueJob = (ctx: RunContext, request: Omit<IngestRequest, "client">) =>
  enqueueIngest(request).pipe(Effect.provide(storageLayer(ctx)))
