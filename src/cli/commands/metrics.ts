/**
 * `marketpipe metrics show`: the stored totals of past runs (`metrics_samples`), per metric and label set (zeros
 * included; the latency histogram as its `_bucket`, `_sum` and `_count` series); `--metric NAME` for one metric,
 * `--since` for runs recorded from an instant on.
 * `marketpipe metrics serve`: a Prometheus endpoint that starts from those totals (counters and histograms) and
 * refreshes the ledger gauges from the repository on every scrape, with the known label sets at zero from the start;
 * `worker` and `ohlcv backfill` embed the same server with `--metrics-port`.
 */
import { type Context, Effect, Layer, Option } from "effect"
import { type RepositoryError, UsageError } from "../../domain/errors.ts"
import { newHistorySync, refreshLedgerGauges, restoreHistory } from "../../observability/history.ts"
import { Metrics } from "../../observability/metrics.ts"
import { isLoopbackHost, type MetricsServerInfo, serveMetrics } from "../../observability/server.ts"
import { defaultMetricsHost } from "../../observability/server-address.ts"
import { readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import type { Repository } from "../../repository/layer.ts"
import { MetricHistory } from "../../repository/metric-history.ts"
import { type App, type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput, type Output, table } from "../output.ts"

export interface MetricsShowFlags extends CommonFlags {
  readonly metric: Option.Option<string>
  readonly since: Option.Option<string>
}

export const metricsShowMain = (flags: MetricsShowFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const since = Option.getOrUndefined(flags.since)
    if (since !== undefined && !Number.isFinite(Date.parse(since))) {
      return yield* new UsageError({
        field: "--since",
        reason: `'${since}' is not a date or time; use e.g. 2024-03-01 or 2024-03-01T12:00:00Z`
      })
    }
    const totals = yield* MetricHistory.use((r) =>
      r.totals({
        ...(Option.isSome(flags.metric) ? { name: flags.metric.value } : {}),
        ...(since === undefined ? {} : { since: new Date(Date.parse(since)).toISOString() })
      })
    ).pipe(Effect.provide(readStorageLayer(app)))
    if (flags.json) {
      out.result(JSON.stringify(totals))
      return totals
    }
    out.result(
      totals.length === 0
        ? "no metrics recorded yet (runs record theirs when they finish)"
        : table(
            ["metric", "labels", "total", "runs"],
            totals.map((t) => [
              t.name,
              Object.entries(t.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(","),
              Number(t.value.toFixed(6)),
              t.runs
            ])
          )
    )
    return totals
  })

/**
 * Serves the registry with the repository behind it: the ledger gauges are refreshed before each scrape and, with
 * `restore`, the stored totals of past runs are taken in first and again before every scrape (runs that finish while
 * it serves show up at once). The port is taken before the repository is opened, so a busy port fails without
 * touching the data dir; scrapes that arrive in between wait for the restore.
 */
const serveWithRepository = (app: App, options: { host: string; port: number; flag: string; restore: boolean }) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const storage = Promise.withResolvers<Context.Context<Repository>>()
    // Only for a process that never stores its own counters: a run that calls persistRun would count them twice.
    const synced = newHistorySync()
    const refresh = Effect.gen(function* () {
      if (options.restore) yield* restoreHistory(metrics, synced)
      yield* refreshLedgerGauges(metrics, app.calendar)
    })
    const server = yield* serveMetrics({
      host: options.host,
      port: options.port,
      flag: options.flag,
      beforeScrape: () => storage.promise.then((context) => Effect.runPromiseWith(context)(refresh))
    })
    const context = yield* Layer.build(storageLayer(app))
    const restored = options.restore ? yield* restoreHistory(metrics, synced).pipe(Effect.provideContext(context)) : 0
    storage.resolve(context)
    return { ...server, restored }
  })

export interface MetricsServeFlags extends CommonFlags {
  readonly host: string
  readonly port: number
}

/** Serves `/metrics` until interrupted (Ctrl-C or SIGTERM); never returns otherwise. */
export const metricsServeMain = (flags: MetricsServeFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    if (!isLoopbackHost(flags.host)) {
      out.notice(
        `warning: --host ${flags.host} is not a loopback address: anyone who can reach it can read these metrics`
      )
    }
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const server = yield* serveWithRepository(app, {
          host: flags.host,
          port: flags.port,
          flag: "--port",
          restore: true
        })
        out.notice(`metrics on ${server.url}`)
        if (flags.json) out.result(JSON.stringify({ url: server.url, restored_series: server.restored }))
        return yield* Effect.never
      })
    )
  })

/**
 * Runs `effect` with a metrics server on `port` when `--metrics-port` was given, closing it when `effect` ends however
 * it ends. It listens on loopback unless `MARKETPIPE_METRICS_HOST` or config `metrics.host` says otherwise (a worker
 * in a container, scraped by Prometheus from another one). The counters are this run's own `Metrics` (it stores
 * them when it finishes).
 */
export const withMetricsPort =
  (port: Option.Option<number> | undefined, app: App, out: Output) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | UsageError | RepositoryError, R | Metrics> =>
    port === undefined || Option.isNone(port)
      ? effect
      : Effect.scoped(
          Effect.gen(function* () {
            const server: MetricsServerInfo = yield* serveWithRepository(app, {
              host:
                app.loaded.env.MARKETPIPE_METRICS_HOST ?? String(app.loaded.config.metrics?.host ?? defaultMetricsHost),
              port: port.value,
              flag: "--metrics-port",
              restore: false
            })
            out.notice(`metrics on ${server.url}`)
            return yield* effect
          })
        )
