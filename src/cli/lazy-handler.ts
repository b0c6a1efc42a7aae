/**
 * How the command tree (`command-tree.ts`, `ohlcv-tree.ts`) runs a handler: its module is imported only once its
 * command was chosen, so parsing, `--help` and `--version` never load the pipeline, the lake, the SQL clients or their
 * libraries.
 */
import { Effect, Layer } from "effect"

/** Imports a handler's module when its command was chosen and runs the handler (the CLI ignores its value). */
export const handle = <M, A, E, R>(load: () => Promise<M>, run: (module: M) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.promise(load), (module) => Effect.asVoid(run(module)))

/**
 * The run's metrics registry (a process runs one command, so one registry per command is one per run), imported when
 * a command that counts is chosen: prom-client and its default collectors are not worth loading for `--help` or
 * `jobs list`.
 */
const metricsLayer = Layer.unwrap(
  Effect.promise(() => import("../observability/metrics.ts")).pipe(Effect.map((m) => m.Metrics.layer))
)

/**
 * The page decode thread (`providers/kit/decode-pool.ts`), for the commands that fetch from providers: loaded with
 * them, started by the first page, stopped when the command ends.
 */
const decodersLayer = Layer.unwrap(
  Effect.promise(() => import("../providers/kit/decode-pool.ts")).pipe(Effect.map((m) => m.pageDecodersLayer()))
)

/** `handle` for the commands that count what they do (`Metrics`): the ones that fetch, and `metrics serve`. */
export const handleCounted = <M, A, E, R>(load: () => Promise<M>, run: (module: M) => Effect.Effect<A, E, R>) =>
  handle(load, run).pipe(Effect.provide(Layer.merge(metricsLayer, decodersLayer)))
