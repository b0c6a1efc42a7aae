/**
 * `marketpipe metrics show`: the stored totals of past runs (`metrics_samples`), per metric and label set;
 * `--metric NAME` for one metric, `--since` for runs recorded from an instant on.
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { UsageError } from "../../domain/errors.ts"
import { JobRepository } from "../../repository/job-repository.ts"
import { type CommonFlags, currentEnvironment, type Environment, loadApp, storageLayer } from "../app.ts"
import { makeOutput, table } from "../output.ts"
import { commonFlags } from "./common.ts"

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
    const totals = yield* JobRepository.use((r) =>
      r.metricTotals({
        ...(Option.isSome(flags.metric) ? { name: flags.metric.value } : {}),
        ...(since === undefined ? {} : { since: new Date(Date.parse(since)).toISOString() })
      })
    ).pipe(Effect.provide(storageLayer(app)))
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

export const metricsShowCommand = Command.make(
  "show",
  {
    metric: Flag.String("metric").pipe(
      Flag.withDescription("only this metric, e.g. marketpipe_bars_ingested_total"),
      Flag.optional
    ),
    since: Flag.String("since").pipe(Flag.withDescription("only runs recorded from this instant on"), Flag.optional),
    ...commonFlags
  },
  (flags) => Effect.asVoid(metricsShowMain(flags))
).pipe(Command.withDescription("Totals of the metrics past runs recorded"))
