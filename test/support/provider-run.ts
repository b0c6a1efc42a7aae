/**
 * Runs a provider plugin through the real ingest pipeline against a temp lake, without the CLI: build the client
 * from the plugin (as the host does), then `runIngest` with SQLite and the Parquet sink.
 */
import { join } from "node:path"
import { Effect, Layer, Schedule } from "effect"
import { makeCalendar, type ProviderPlugin, type Symbol, type TradingDay } from "../../mod.ts"
import type { Timeframe } from "../../src/domain/timeframe.ts"
import { parquetSinkLayer } from "../../src/lake/parquet-sink.ts"
import { Metrics } from "../../src/observability/metrics.ts"
import { runIngest } from "../../src/pipeline/ingest.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { sqliteLayer } from "../../src/repository/layer.ts"
import { kitServices, runServices } from "./run-services.ts"

export const calendar = makeCalendar()

export interface PluginRun {
  readonly plugin: ProviderPlugin
  readonly baseUrl: string
  readonly env: Record<string, string>
  readonly options?: Record<string, unknown>
  readonly feed?: string
}

export const makeClient = (run: PluginRun, services: ReturnType<typeof kitServices> = kitServices()) =>
  run.plugin.make(makePluginHost(run.plugin.name, calendar, services), {
    name: run.plugin.name,
    baseUrl: run.baseUrl,
    feed: run.feed,
    rateLimit: undefined,
    // Fast retries in tests; the backoff shape is the same.
    options: { retry_base_ms: 5, ...run.options },
    env: run.env
  })

/** The plugin with a limit high enough that paging and retries are under test, not the documented pacing (5/min). */
export const unpaced = (run: PluginRun): PluginRun => {
  const plugin: ProviderPlugin = {
    ...run.plugin,
    make: (h, settings) => run.plugin.make(h, { ...settings, rateLimit: { requests: 10_000, perSeconds: 1 } })
  }
  return { ...run, plugin }
}

/** Ingests `symbols` over [from, to] into `dataDir` through `run.plugin`; resolves with the job summary. */
export const ingestThrough = (
  run: PluginRun,
  dataDir: string,
  symbols: ReadonlyArray<string>,
  from: string,
  to: string,
  frame: Timeframe = "1m"
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const client = yield* makeClient(run, kitServices(metrics))
      return yield* runIngest({
        kind: "ingest",
        provider: run.plugin.name,
        client,
        calendar,
        symbols: symbols as ReadonlyArray<Symbol>,
        from: from as TradingDay,
        to: to as TradingDay,
        frame,
        feed: run.feed ?? run.plugin.capabilities.defaultFeed,
        session: "regular",
        adjustment: "raw",
        concurrency: 4,
        maxBarsPerRequest: run.plugin.capabilities.maxBarsPerRequest,
        maxSymbolsPerRequest: run.plugin.capabilities.maxSymbolsPerRequest,
        retry: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 3 }))
      })
    }).pipe(
      Effect.provide(
        Layer.mergeAll(sqliteLayer(join(dataDir, "marketpipe.db")), parquetSinkLayer(dataDir), runServices())
      )
    )
  )
