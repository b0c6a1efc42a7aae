/**
 * How much of the machine one `marketpipe query` may take. DuckDB's own defaults (80 % of the RAM, every core) let
 * one research query starve the ingest and the workers on the same box. A query cannot spill to disk (nothing is
 * written), so one that needs more than its limit fails and says how to raise it. Flags win over config, config
 * over the defaults.
 */
import { availableParallelism, totalmem } from "node:os"
import { Effect, Option, Schema } from "effect"
import { MAX_QUERY_THREADS, MemoryLimit, memoryLimitForm, type QueryConfig, QueryThreads } from "../config/schema.ts"
import { UsageError } from "../domain/errors.ts"

export interface QueryLimits {
  /** As DuckDB reads it: `512MB` (10^6 bytes per MB), `4GiB` (2^30 per GiB). */
  readonly memoryLimit: string
  readonly threads: number
}

/** The RAM this process may use: the machine's, or less under a cgroup limit (a container). */
function usableRam(): number {
  const constrained = process.constrainedMemory?.() ?? 0
  return constrained > 0 ? Math.min(constrained, totalmem()) : totalmem()
}

/**
 * A quarter of the RAM, and one CPU left for the rest of the pipeline, at most four threads: a 2-core, 24 GiB
 * research box gives a query 6 GiB and one thread, while ingest and the workers keep a core.
 */
export const defaultLimits = (): QueryLimits => ({
  memoryLimit: `${Math.max(64, Math.floor(usableRam() / 4 / 2 ** 20))}MiB`,
  threads: Math.min(4, Math.max(1, availableParallelism() - 1))
})

export interface LimitFlags {
  readonly memoryLimit: Option.Option<string>
  readonly threads: Option.Option<number>
}

const checked = <A>(schema: Schema.Decoder<A>, value: A, field: string, allowed: string) =>
  Schema.decodeUnknownEffect(schema)(value).pipe(
    Effect.mapError(() => {
      const given = typeof value === "string" ? `'${value}'` : String(value)
      return new UsageError({ field, reason: `${given} is not allowed: ${allowed}` })
    })
  )

/** The flags, checked the way the config file's `query` section is (the same schemas). */
export const checkLimitFlags = (flags: LimitFlags): Effect.Effect<LimitFlags, UsageError> =>
  Effect.gen(function* () {
    if (Option.isSome(flags.memoryLimit))
      yield* checked(MemoryLimit, flags.memoryLimit.value, "--memory-limit", `give ${memoryLimitForm}`)
    if (Option.isSome(flags.threads))
      yield* checked(
        QueryThreads,
        flags.threads.value,
        "--threads",
        `give a whole number from 1 to ${MAX_QUERY_THREADS}`
      )
    return flags
  })

export const resolveLimits = (flags: LimitFlags, config: QueryConfig | undefined): QueryLimits => {
  const defaults = defaultLimits()
  return {
    memoryLimit: Option.getOrElse(flags.memoryLimit, () => config?.memory_limit ?? defaults.memoryLimit),
    threads: Option.getOrElse(flags.threads, () => config?.threads ?? defaults.threads)
  }
}
