/** `marketpipe jobs list` and `jobs show ID`: what ran, what it wrote and which partitions failed. */
import { Effect } from "effect"
import { UsageError } from "../../domain/errors.ts"
import { readStorageLayer } from "../../pipeline/context.ts"
import { Jobs } from "../../repository/jobs.ts"
import { type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput, table } from "../output.ts"

export const jobsListMain = (
  flags: CommonFlags & { readonly limit: number },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const jobs = yield* Jobs.use((r) => r.list(flags.limit)).pipe(Effect.provide(readStorageLayer(app)))
    if (flags.json) return out.result(JSON.stringify(jobs))
    if (jobs.length === 0) return out.result("no jobs yet")
    out.result(
      table(
        ["id", "kind", "state", "provider", "frame", "symbols", "range", "done", "failed", "bars", "created"],
        jobs.map((j) => [
          j.id,
          j.kind,
          j.state,
          `${j.provider}/${j.feed}`,
          j.frame,
          j.symbols.length,
          `${j.startDay}..${j.endDay}`,
          j.partitionsDone,
          j.partitionsFailed,
          j.barsWritten,
          j.createdAt
        ])
      )
    )
  })

export const jobsShowMain = (
  flags: CommonFlags & { readonly id: number },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: false })
    const found = yield* Jobs.use((r) =>
      Effect.flatMap(r.get(flags.id), (job) =>
        job === undefined
          ? Effect.succeed(undefined)
          : Effect.map(r.partitions(job.id), (partitions) => ({ job, partitions }))
      )
    ).pipe(Effect.provide(readStorageLayer(app)))
    if (found === undefined)
      return yield* new UsageError({ field: "ID", reason: `no job with id ${flags.id}; see \`marketpipe jobs list\`` })
    if (flags.json) return out.result(JSON.stringify(found))
    const { job, partitions } = found
    const failed = partitions.filter((p) => p.state === "failed")
    out.result(
      [
        `job ${job.id}: ${job.kind} ${job.state}`,
        `  provider ${job.provider}/${job.feed}, frame ${job.frame}, session ${job.session}`,
        `  symbols ${job.symbols.join(",")}`,
        `  range ${job.startDay}..${job.endDay}`,
        `  created ${job.createdAt}, finished ${job.finishedAt ?? "-"}`,
        `  partitions ${job.partitionsDone} done, ${job.partitionsFailed} failed of ${job.partitionsTotal}; bars ${job.barsWritten} written, ${job.barsRejected} rejected`,
        ...(job.error ? [`  error: ${job.error}`] : []),
        ...(failed.length > 0
          ? [
              "  failed partitions:",
              table(
                ["symbol", "day", "attempts", "error"],
                failed.map((p) => [p.symbol, p.day, p.attempts, p.error ?? ""])
              ).replace(/^/gmu, "    ")
            ]
          : [])
      ].join("\n")
    )
  })
