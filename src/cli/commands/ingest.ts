/** `marketpipe ohlcv ingest`: fetch a range of trading days for some symbols into the lake. */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { providerBaseUrl } from "../../config/load.ts"
import { UsageError } from "../../domain/errors.ts"
import { type Timeframe, timeframes } from "../../domain/timeframe.ts"
import { type IngestSummary, runIngest } from "../../pipeline/ingest.ts"
import { makePluginHost } from "../../providers/host.ts"
import { findPlugin } from "../../providers/registry.ts"
import {
  type App,
  type CommonFlags,
  checkInput,
  currentEnvironment,
  type Environment,
  loadApp,
  storageLayer
} from "../app.ts"
import { PartitionsFailed } from "../exit-codes.ts"
import { parseRange, parseSymbols } from "../inputs.ts"
import { makeOutput, type Output, table } from "../output.ts"
import { commonFlags } from "./common.ts"

export interface IngestFlags extends CommonFlags {
  readonly provider: Option.Option<string>
  readonly symbols: string
  readonly start: string
  readonly end: string
  readonly frame: Option.Option<Timeframe>
  readonly feed: Option.Option<string>
  readonly session: Option.Option<"regular" | "extended">
  readonly concurrency: Option.Option<number>
}

/** Resolves flags against config and the provider's capabilities; fails with a `UsageError` before any write. */
export const prepareIngest = (flags: IngestFlags, app: App) =>
  Effect.gen(function* () {
    const { config } = app.loaded
    const symbols = yield* checkInput(() => parseSymbols("--symbols", flags.symbols))
    const { from, to } = yield* checkInput(() => parseRange(flags.start, flags.end))
    const providerName = Option.getOrUndefined(flags.provider) ?? config.ingest?.provider ?? "fake"
    const found = findPlugin(
      providerName,
      app.plugins.map((p) => p.plugin)
    )
    if (found._tag === "Unknown") return yield* found.error
    const plugin = found.plugin
    const caps = plugin.capabilities
    const frame = Option.getOrUndefined(flags.frame) ?? config.ingest?.frame ?? "1m"
    if (!caps.timeframes.includes(frame)) {
      return yield* new UsageError({
        field: "--frame",
        reason: `provider ${plugin.name} does not offer ${frame}; it offers: ${caps.timeframes.join(", ")}`
      })
    }
    const providerConfig = config.providers?.[plugin.name] ?? {}
    const feed =
      Option.getOrUndefined(flags.feed) ??
      (providerConfig.feed as string | undefined) ??
      config.ingest?.feed ??
      caps.defaultFeed
    if (!caps.feeds.includes(feed)) {
      return yield* new UsageError({
        field: "--feed",
        reason: `provider ${plugin.name} has no feed '${feed}'; feeds: ${caps.feeds.join(", ")}`
      })
    }
    const concurrency = Option.getOrUndefined(flags.concurrency) ?? config.ingest?.concurrency ?? 4
    if (concurrency < 1 || concurrency > 64) {
      return yield* new UsageError({ field: "--concurrency", reason: `${concurrency} is out of range; use 1 to 64` })
    }
    const { base_url: _b, feed: _f, rate_limit: _r, ...options } = providerConfig
    const client = yield* plugin
      .make(makePluginHost(plugin.name, app.calendar), {
        name: plugin.name,
        baseUrl: providerBaseUrl(app.loaded, plugin.name),
        feed,
        rateLimit:
          providerConfig.rate_limit === undefined
            ? undefined
            : { requests: providerConfig.rate_limit.requests, perSeconds: providerConfig.rate_limit.per_seconds },
        options,
        env: app.loaded.env
      })
      .pipe(Effect.mapError((e) => new UsageError({ field: `providers.${plugin.name}`, reason: e.reason })))
    return {
      kind: "ingest" as const,
      provider: plugin.name,
      client,
      calendar: app.calendar,
      symbols,
      from,
      to,
      frame,
      feed,
      session: Option.getOrUndefined(flags.session) ?? config.ingest?.session ?? "regular",
      adjustment: config.ingest?.adjustment ?? "raw",
      concurrency,
      maxBarsPerRequest: caps.maxBarsPerRequest,
      maxSymbolsPerRequest: caps.maxSymbolsPerRequest
    }
  })

const summaryJson = (s: IngestSummary) => ({
  job: s.job,
  trading_days: s.tradingDays,
  failures: s.failures,
  rejected_by_rule: s.rejectedByRule
})

export function printSummary(out: Output, s: IngestSummary, json: boolean): void {
  if (json) {
    out.result(JSON.stringify(summaryJson(s)))
    return
  }
  const j = s.job
  const lines = [
    `job ${j.id} ${j.state}: ${j.provider}/${j.feed} ${j.frame} ${j.symbols.length} symbol(s) ${j.startDay}..${j.endDay} (${s.tradingDays} trading days)`,
    `  partitions: ${j.partitionsDone} done, ${j.partitionsFailed} failed of ${j.partitionsTotal}`,
    `  bars: ${j.barsWritten} written, ${j.barsRejected} rejected`
  ]
  if (s.tradingDays === 0) lines.push("  no trading days in this range (weekends and holidays only)")
  for (const [rule, n] of Object.entries(s.rejectedByRule)) lines.push(`  rejected by ${rule}: ${n}`)
  if (s.failures.length > 0) {
    lines.push("  failed:")
    lines.push(
      table(
        ["symbol", "days", "error"],
        s.failures.map((f) => [f.symbol, `${f.days[0]}..${f.days[f.days.length - 1]}`, f.error])
      ).replace(/^/gmu, "    ")
    )
  }
  out.result(lines.join("\n"))
}

export const ingestMain = (flags: IngestFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    for (const n of app.loaded.notices) out.notice(`notice: ${n}`)
    const request = yield* prepareIngest(flags, app)
    const started = Date.now()
    const summary = yield* runIngest(request, (p) => Effect.sync(() => out.progress(p, Date.now() - started))).pipe(
      Effect.provide(storageLayer(app))
    )
    out.done()
    printSummary(out, summary, flags.json)
    if (summary.failures.length > 0) {
      return yield* new PartitionsFailed({ count: summary.job.partitionsFailed, jobId: summary.job.id })
    }
    return summary
  })

export const ingestCommand = Command.make(
  "ingest",
  {
    provider: Flag.String("provider").pipe(
      Flag.withDescription("provider plugin (default: ingest.provider or fake)"),
      Flag.optional
    ),
    symbols: Flag.String("symbols").pipe(Flag.withDescription("comma-separated tickers, e.g. AAPL,MSFT,BRK.B")),
    start: Flag.String("start").pipe(Flag.withDescription("first trading day, YYYY-MM-DD (New York date)")),
    end: Flag.String("end").pipe(Flag.withDescription("last trading day, YYYY-MM-DD, inclusive")),
    frame: Flag.Literals("frame", timeframes).pipe(Flag.withDescription("bar timeframe (default 1m)"), Flag.optional),
    feed: Flag.String("feed").pipe(Flag.withDescription("provider feed, e.g. iex or sip"), Flag.optional),
    session: Flag.Literals("session", ["regular", "extended"]).pipe(
      Flag.withDescription("regular 09:30-16:00 or extended 04:00-20:00 ET"),
      Flag.optional
    ),
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription("files fetched and written at once (1-64, default 4)"),
      Flag.optional
    ),
    ...commonFlags
  },
  (flags) => Effect.asVoid(ingestMain(flags))
).pipe(
  Command.withDescription("Fetch bars for symbols over a range of trading days (start..end inclusive) into the lake")
)
