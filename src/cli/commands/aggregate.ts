/** `marketpipe ohlcv aggregate`: build 5m … 1d from the 1m lake, only where the 1m data changed (or `--force`). */
import { Effect, Option } from "effect"
import { UsageError } from "../../domain/errors.ts"
import { aggregatedFrames } from "../../domain/timeframe.ts"
import { runAggregateJob } from "../../pipeline/aggregate-job.ts"
import { aggregationFrames } from "../../pipeline/job.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseScope } from "../inputs.ts"
import { makeOutput } from "../output.ts"

export interface AggregateFlags extends CommonFlags {
  readonly symbols: Option.Option<string>
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly frames: Option.Option<string>
  readonly session: Option.Option<"regular" | "extended">
  readonly force: boolean
}

type Frame = (typeof aggregatedFrames)[number]

export function parseFrames(raw: string): ReadonlyArray<Frame> {
  const out: Array<Frame> = []
  for (const f of raw
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "")) {
    if (!(aggregatedFrames as ReadonlyArray<string>).includes(f)) {
      throw new UsageError({
        field: "--frames",
        reason: `'${f}' cannot be built from 1m bars; use ${aggregatedFrames.join(", ")}`
      })
    }
    if (!out.includes(f as Frame)) out.push(f as Frame)
  }
  if (out.length === 0)
    throw new UsageError({ field: "--frames", reason: `name at least one of ${aggregatedFrames.join(", ")}` })
  return out
}

export const aggregateMain = (flags: AggregateFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const { symbols, from, to } = yield* checkInput(() => parseScope(flags))
    const frames = yield* checkInput(() =>
      Option.match(flags.frames, { onNone: () => aggregationFrames(app.loaded.config), onSome: parseFrames })
    )
    const summary = yield* runAggregateJob(app, {
      symbols,
      from,
      to,
      frames,
      session: Option.getOrUndefined(flags.session),
      force: flags.force
    })
    if (flags.json) {
      out.result(JSON.stringify(summary))
      return summary
    }
    const built = Object.entries(summary.rebuilt).map(([frame, n]) => `${frame}: ${n} day(s)`)
    out.result(
      [
        summary.job === undefined
          ? "nothing to aggregate: every day is up to date"
          : `job ${summary.job.id} aggregated ${built.join(", ")}`,
        `  bars written: ${summary.barsWritten}; unchanged days skipped: ${summary.unchanged}`
      ].join("\n")
    )
    return summary
  })
