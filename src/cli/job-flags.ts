/**
 * The flags `ohlcv ingest`, `ohlcv backfill` share: which provider, frame, feed and session, and how many at once;
 * and `--metrics-port`, which `ohlcv backfill` and `worker` share.
 */
import { Flag } from "effect/cli"
import { timeframes } from "../domain/timeframe.ts"
import { PLAN_CONFIRM_PARTITIONS } from "../pipeline/plan.ts"

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

/** The `--metrics-port` flag of long-running commands. */
export const metricsPortFlag = Flag.Int("metrics-port").pipe(
  Flag.withDescription(
    "serve Prometheus metrics on PORT/metrics while this command runs (loopback; MARKETPIPE_METRICS_HOST to change)"
  ),
  Flag.optional
)
