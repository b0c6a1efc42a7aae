/**
 * The per-run services a CLI process builds once (`runCli`): a metrics registry and the rate-limit buckets. Each test
 * run gets a fresh set, or shares one registry between runs when it means to scrape what several of them recorded.
 */
import { Layer } from "effect"
import { Metrics, type MetricsShape, makeMetrics } from "../../src/observability/metrics.ts"
import type { KitServices } from "../../src/providers/kit/http.ts"
import { makeRateLimiters, RateLimiters } from "../../src/providers/kit/rate-limiter.ts"

export const runServices = (metrics: MetricsShape = makeMetrics()) =>
  Layer.mergeAll(Layer.succeed(Metrics, metrics), RateLimiters.layer)

/** What a plugin host needs in a test: a fresh registry and fresh buckets. */
export const kitServices = (metrics: MetricsShape = makeMetrics()): KitServices => ({
  metrics,
  limiters: makeRateLimiters()
})
