/**
 * What `ingest` and `backfill` share: the provider choice flags, resolving them against config and the plugin's
 * capabilities (a `UsageError` before anything is written), connecting the plugin, and running the job with
 * recovery first, progress while it runs and a summary after.
 */
import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { type AggregateSummary, runAggregation } from "../aggregation/run.ts"
import { providerBaseUrl } from "../config/load.ts"
import { aggregatedFrames } from "../config/schema.ts"
import type { SessionKind } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import { type Timeframe, timeframes } from "../domain/timeframe.ts"
import { persistRun } from "../observability/history.ts"
import { currentMetrics } from "../observability/metrics.ts"
import { type IngestRequest, type IngestSummary, runIngest } from "../pipeline/ingest.ts"
import { checkPlanSize, PLAN_CONFIRM_PARTITIONS, planWork } from "../pipeline/plan.ts"
import { processOwner, recover } from "../pipeline/recovery.ts"
import type { ProviderPlugin, RateLimit } from "../providers/contract.ts"
import { makePluginHost } from "../providers/host.ts"
import { writeValidationReport } from "../validation/report.ts"
import { ruleSettings } from "../validation/settings.ts"
import { type App, checkInput, storageLayer } from "./app.ts"
import { PartitionsFailed } from "./exit-codes.ts"
import { type Output, table } from "./output.ts"

export interface ProviderChoice {
  readonly provider: Option.Option<string>
  readonly frame: Option.Option<Timeframe>
  readonly feed: Option.Option<string>
  readonly session: Option.Option<SessionKind>
  readonly concurrency: Option.Option<number>
}

export const providerChoiceFlags = {
  provider: Flag.String("provider").pipe(
    Flag.withDescription("provider plugin (default: ingest.provider or fake)"),
    Flag.optional
  ),
  frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("bar timeframe (default 1m)"), Flag.optional),
  feed: Flag.String("feed").pipe(Flag.withDescription("provider feed, e.g. iex or sip"), Flag.optional),
  session: Flag.Literals("session", ["regular", "extended"]).pipe(
    Flag.withDescription("regular 09:30-16:00 or extended 04:00-20:00 ET"),
    Flag.optional
  ),
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withDescription("units fetched and written at once (1-64, default 4)"),
    Flag.optional
  )
}

export const confirmFlag = {
  yes: Flag.Boolean("yes").pipe(
    Flag.withDescription(
      `run a plan of more than ${PLAN_CONFIRM_PARTITIONS.toLocaleString("en")} partitions (symbol-days) without stopping to ask`
    ),
    Flag.withDefault(false)
  )
}

/** The plan `requestFor` would run, sized before anything is opened, refused when too big and `yes` is not given. */
export const confirmPlan = (
  request: ReturnType<typeof requestFor> & {
    readonly symbols: ReadonlyArray<Symbol>
    readonly from: string
    readonly to: string
    readonly covered?: (symbol: string, day: string) => boolean
    readonly now?: number
  },
  yes: boolean
) =>
  checkInput(() => {
    const plan = planWork(request)
    if (!yes) checkPlanSize(plan, request.symbols.length)
    return plan
  })

export interface ResolvedProvider {
  readonly plugin: ProviderPlugin
  readonly frame: Timeframe
  readonly feed: string
  readonly session: SessionKind
  readonly adjustment: string
  readonly concurrency: number
  /** The limit requests will be paced at: config override, else the plugin's documented one. */
  readonly rateLimit: RateLimit | null
  readonly configured: RateLimit | undefined
  readonly options: Readonly<Record<string, unknown>>
}

export const resolveProvider = (choice: ProviderChoice, app: App) =>
  Effect.gen(function* () {
    const { config } = app.loaded
    const plugin = yield* app.plugin(Option.getOrUndefined(choice.provider) ?? config.ingest?.provider ?? "fake")
    const caps = plugin.capabilities
    const frame = Option.getOrUndefined(choice.frame) ?? config.ingest?.frame ?? "1m"
    if (!caps.timeframes.includes(frame)) {
      return yield* new UsageError({
        field: "--frame",
        reason: `provider ${plugin.name} does not offer ${frame}; it offers: ${caps.timeframes.join(", ")}`
      })
    }
    const providerConfig = config.providers?.[plugin.name] ?? {}
    const feed =
      Option.getOrUndefined(choice.feed) ??
      (providerConfig.feed as string | undefined) ??
      config.ingest?.feed ??
      caps.defaultFeed
    if (!caps.feeds.includes(feed)) {
      return yield* new UsageError({
        field: "--feed",
        reason: `provider ${plugin.name} has no feed '${feed}'; feeds: ${caps.feeds.join(", ")}`
      })
    }
    const concurrency = Option.getOrUndefined(choice.concurrency) ?? config.ingest?.concurrency ?? 4
    if (concurrency < 1 || concurrency > 64) {
      return yield* new UsageError({ field: "--concurrency", reason: `${concurrency} is out of range; use 1 to 64` })
    }
    const { base_url: _b, feed: _f, rate_limit: limit, ...options } = providerConfig
    const configured = limit === undefined ? undefined : { requests: limit.requests, perSeconds: limit.per_seconds }
    return {
      plugin,
      frame,
      feed,
      session: Option.getOrUndefined(choice.session) ?? config.ingest?.session ?? "regular",
      adjustment: config.ingest?.adjustment ?? "raw",
      concurrency,
      rateLimit: configured ?? caps.rateLimit,
      configured,
      options
    } satisfies ResolvedProvider
  })

/** Builds the plugin's client; a plugin that refuses its settings (missing key, bad option) is a usage error. */
export const connectProvider = (resolved: ResolvedProvider, app: App) =>
  resolved.plugin
    .make(makePluginHost(resolved.plugin.name, app.calendar), {
      name: resolved.plugin.name,
      baseUrl: providerBaseUrl(app.loaded, resolved.plugin.name),
      feed: resolved.feed,
      rateLimit: resolved.configured,
      options: resolved.options,
      env: app.loaded.env
    })
    .pipe(Effect.mapError((e) => new UsageError({ field: `providers.${resolved.plugin.name}`, reason: e.reason })))

export const requestFor = (resolved: ResolvedProvider, app: App) => ({
  provider: resolved.plugin.name,
  calendar: app.calendar,
  frame: resolved.frame,
  feed: resolved.feed,
  session: resolved.session,
  adjustment: resolved.adjustment,
  concurrency: resolved.concurrency,
  maxBarsPerRequest: resolved.plugin.capabilities.maxBarsPerRequest,
  maxSymbolsPerRequest: resolved.plugin.capabilities.maxSymbolsPerRequest
})

const summaryJson = (s: IngestSummary) => ({
  job: s.job,
  trading_days: s.tradingDays,
  plan: s.plan,
  failures: s.failures,
  rejected_by_rule: s.rejectedByRule,
  warnings_by_rule: s.warningsByRule
})

export function printSummary(out: Output, s: IngestSummary, json: boolean, aggregation?: AggregateSummary): void {
  if (json) {
    out.result(JSON.stringify({ ...summaryJson(s), ...(aggregation === undefined ? {} : { aggregation }) }))
    return
  }
  const j = s.job
  const lines = [
    `job ${j.id} ${j.state}: ${j.kind} ${j.provider}/${j.feed} ${j.frame} ${j.symbols.length} symbol(s) ${j.startDay}..${j.endDay} (${s.tradingDays} trading days)`,
    `  partitions: ${j.partitionsDone} done, ${j.partitionsFailed} failed of ${j.partitionsTotal}${s.plan.covered > 0 ? `; ${s.plan.covered} skipped (already in the ledger)` : ""}`,
    `  bars: ${j.barsWritten} written, ${j.barsRejected} rejected`
  ]
  if (s.tradingDays === 0) lines.push("  no trading days in this range (weekends and holidays only)")
  if (s.plan.notClosed.length > 0)
    lines.push(`  left for later (session not closed yet): ${s.plan.notClosed.join(", ")}`)
  for (const [rule, n] of Object.entries(s.rejectedByRule)) lines.push(`  quarantined by ${rule}: ${n}`)
  for (const [rule, n] of Object.entries(s.warningsByRule)) lines.push(`  warnings from ${rule}: ${n}`)
  if (Object.keys(s.rejectedByRule).length + Object.keys(s.warningsByRule).length > 0) {
    lines.push(`  report: marketpipe ohlcv validate --show ${j.id}`)
  }
  if (aggregation !== undefined && Object.keys(aggregation.rebuilt).length > 0) {
    const frames = Object.entries(aggregation.rebuilt).map(([frame, n]) => `${frame} ${n}`)
    lines.push(`  aggregated days: ${frames.join(", ")} (${aggregation.barsWritten} bars)`)
  }
  if (s.failures.length > 0) {
    // Split requests fail day by day; show one line per symbol and reason.
    const merged = new Map<string, { symbol: string; error: string; days: Array<string> }>()
    for (const f of s.failures) {
      const m = merged.get(`${f.symbol}|${f.error}`) ?? { symbol: f.symbol, error: f.error, days: [] }
      m.days.push(...f.days)
      merged.set(`${f.symbol}|${f.error}`, m)
    }
    lines.push("  failed:")
    lines.push(
      table(
        ["symbol", "days", "error"],
        [...merged.values()].map((m) => {
          const days = [...m.days].sort()
          return [
            m.symbol,
            days.length === 1 ? `${days[0]}` : `${days[0]}..${days[days.length - 1]} (${days.length})`,
            m.error
          ]
        })
      ).replace(/^/gmu, "    ")
    )
  }
  out.result(lines.join("\n"))
}

/** Frames built from 1m after an ingest or backfill (config `aggregation`); none for other frames or when off. */
export const aggregationFrames = (app: App): ReadonlyArray<(typeof aggregatedFrames)[number]> =>
  app.loaded.config.aggregation?.frames ?? aggregatedFrames

/** Builds the higher frames for the days this run touched; days whose 1m data did not change are skipped. */
const aggregateAfter = (request: IngestRequest, app: App) =>
  request.frame !== "1m" || app.loaded.config.aggregation?.after_ingest === false
    ? Effect.succeed(undefined)
    : runAggregation({
        calendar: app.calendar,
        frames: aggregationFrames(app),
        session: app.loaded.config.aggregation?.session ?? request.session,
        symbols: request.symbols,
        from: request.from,
        to: request.to,
        owner: processOwner()
      })

/**
 * Recovers from any crashed run, then runs the job and prints its summary. Fails with `PartitionsFailed` (exit 3)
 * when some partitions failed; they are recorded, so the next backfill retries them.
 */
export const runJob = (request: IngestRequest, app: App, out: Output, json: boolean) =>
  Effect.gen(function* () {
    const recovered = yield* recover(app.loaded.dataDir)
    if (recovered.abandonedJobs.length > 0) {
      out.notice(
        `notice: job(s) ${recovered.abandonedJobs.join(", ")} were left running by a stopped process; their partitions will be redone`
      )
    }
    if (recovered.removedTemps.length > 0)
      out.notice(`notice: removed ${recovered.removedTemps.length} temp file(s) a stopped writer left`)
    const started = Date.now()
    const summary = yield* runIngest(
      { ...request, owner: processOwner(), rules: ruleSettings(app.loaded.config) },
      (p) => Effect.sync(() => out.progress(p, Date.now() - started))
    )
    out.done()
    yield* writeValidationReport(app.loaded.dataDir, {
      jobId: summary.job.id,
      kind: summary.job.kind,
      findings: summary.findings,
      errorsByRule: summary.rejectedByRule,
      warningsByRule: summary.warningsByRule
    })
    const aggregation = yield* aggregateAfter(request, app)
    // Short runs leave their counters in the repository, so `metrics serve` shows totals, not per-process zeros.
    yield* persistRun(currentMetrics(), `${summary.job.kind}-${summary.job.id}-${processOwner()}`)
    printSummary(out, summary, json, aggregation)
    if (summary.failures.length > 0) {
      return yield* new PartitionsFailed({ count: summary.job.partitionsFailed, jobId: summary.job.id })
    }
    return summary
  }).pipe(Effect.provide(storageLayer(app)))
