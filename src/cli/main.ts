#!/usr/bin/env bun
/**
 * The `marketpipe` (alias `mp`) command line. A thin shell: commands parse flags and call the services that
 * `mod.ts` exposes too. Errors become exit codes here and nowhere else. Start-up loads only the command tree and
 * what parsing needs; a command's module, the metrics registry and the tracing SDK load when a run needs them.
 */
import { NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Fiber, Layer, Option } from "effect"
import { Command } from "effect/cli"
import { tracingFromEnvironment, tracingLayer } from "../observability/tracing.ts"
import { RateLimiters } from "../providers/kit/rate-limiter.ts"
import { mask } from "../providers/kit/secrets.ts"
import { VERSION } from "../version.ts"
import { rootCommand } from "./command-tree.ts"
import { ExitCode } from "./exit-codes.ts"

export { rootCommand }

/** Maps a failed run to an exit code and prints the one-line reason (the CLI already printed parse errors). */
export function exitCodeOf(exit: Exit.Exit<unknown, unknown>, print: (line: string) => void): number {
  if (Exit.isSuccess(exit)) return ExitCode.ok
  if (Cause.hasInterruptsOnly(exit.cause)) return 130
  const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as
    | { _tag?: string; message?: string; errors?: ReadonlyArray<unknown> }
    | undefined
  switch (error?._tag) {
    case "ShowHelp":
      return (error.errors?.length ?? 0) > 0 ? ExitCode.usage : ExitCode.ok
    case "UsageError":
      print(`error: ${error.message}`)
      return ExitCode.usage
    case "PartitionsFailed":
    case "UnbackedClaims":
      print(`error: ${error.message}`)
      return ExitCode.partial
    case undefined:
      print(`error: ${Cause.pretty(exit.cause)}`)
      return ExitCode.failure
    default:
      print(`error: ${error?.message ?? String(error)}`)
      return ExitCode.failure
  }
}

/**
 * One run of the command line, with the services a run shares: one metrics registry and one set of rate-limit
 * buckets (every client on a key paces against the same quota). A process runs one command.
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  Command.runWith(rootCommand, { version: VERSION })(argv).pipe(
    Effect.provide(Layer.mergeAll(NodeServices.layer, RateLimiters.layer))
  )

/**
 * The process's run: `--trace off|console|otlp` is taken out before the parser sees it (OTEL_EXPORTER_OTLP_ENDPOINT
 * turns OTLP on), the command runs, and the exit code comes back.
 */
export async function runMain(
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void
): Promise<number> {
  const tracing = tracingFromEnvironment(argv, env)
  if (tracing._tag === "Invalid") {
    print(`error: ${tracing.reason}`)
    return ExitCode.usage
  }
  // The tracing layer wraps the whole run: its finalizer flushes and shuts the SDK down before the fiber ends,
  // whether the run succeeds, fails or is interrupted, so spans are out before the exit code is set.
  const fiber = Effect.runFork(runCli(tracing.argv).pipe(Effect.provide(tracingLayer(tracing.options))))
  // Ctrl-C interrupts the run so finalizers close the database and the job is marked interrupted, not left running.
  const stop = () => Effect.runFork(Fiber.interrupt(fiber))
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  try {
    return exitCodeOf(await Effect.runPromise(Fiber.await(fiber)), print)
  } finally {
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
  }
}

if (import.meta.main) {
  process.exitCode = await runMain(process.argv.slice(2), process.env, (line) =>
    process.stderr.write(`${mask(line)}\n`)
  )
}
