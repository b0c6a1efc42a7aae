/**
 * The per-run services a CLI process builds once (`runCli`): a metrics registry. Each test run gets a fresh set, or
 * shares one registry between runs when it means to scrape what several of them recorded.
 */
import { Layer } from "effect"
import { Metrics, type MetricsShape, makeMetrics } from "../../src/observability/metrics.ts"

export const runServices = (metrics: MetricsShape = makeMetrics()) => Layer.succeed(Metrics, metrics)

/** What a plugin host needs in a test: a fresh registry. */
export const kitServices = (metrics: MetricsShape = makeMetrics()) => ({ metrics })
