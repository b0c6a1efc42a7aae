/**
 * The metrics port check: the port `metrics serve` and `--metrics-port` would listen on (config `metrics.port`,
 * default 9464) is free on their host (`MARKETPIPE_METRICS_HOST`, config `metrics.host`, default loopback). It
 * listens and closes at once; a busy port is a warning (another MarketPipe may be serving there on purpose).
 */
import { createServer } from "node:net"
import { Effect } from "effect"
import type { Env, LoadedConfig } from "../config/load.ts"
import { defaultMetricsHost, defaultMetricsPort } from "../observability/server-address.ts"
import { type CheckResult, fail, pass, warn } from "./check.ts"

const NAME = "metrics port"

/** Where the metrics endpoint would listen: host and port from the environment and config, else the defaults. */
export function metricsAddress(
  config: LoadedConfig["config"],
  env: Env
): { readonly host: string; readonly port: unknown } {
  const host = env.MARKETPIPE_METRICS_HOST ?? String(config.metrics?.host ?? defaultMetricsHost)
  return { host, port: config.metrics?.port ?? defaultMetricsPort }
}

/** Listens on `host:port` and closes again: `undefined` when that worked, else the error's code and message. */
const tryListen = (host: string, port: number) =>
  Effect.callback<{ readonly code: string | undefined; readonly message: string } | undefined>((resume) => {
    const server = createServer()
    server.once("error", (e: Error & { code?: string }) => resume(Effect.succeed({ code: e.code, message: e.message })))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resume(Effect.succeed(undefined))))
  })

export const metricsPortCheck = (config: LoadedConfig["config"], env: Env): Effect.Effect<CheckResult> =>
  Effect.gen(function* () {
    const { host, port } = metricsAddress(config, env)
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
      return fail(NAME, `config metrics.port ${JSON.stringify(port)} is not a port; use 1 to 65535`)
    }
    const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`
    const problem = yield* tryListen(host, port)
    if (problem === undefined) return pass(NAME, `${address} is free for the metrics endpoint`)
    if (problem.code === "EADDRINUSE") {
      return warn(
        NAME,
        `port ${port} on ${host} is in use: metrics serve and --metrics-port ${port} would fail there unless that is a MarketPipe serving already; pick another with config metrics.port or --port`
      )
    }
    return fail(NAME, `cannot listen on ${address}: ${problem.message}`)
  })
