/**
 * The hosts a MarketPipe run needs, for Deno's `--allow-net` (Deno fixes permissions at launch, so `run.ts` asks this
 * before it starts the CLI). Read from the same config, `.env`, environment and flags the CLI reads, with the CLI's
 * own functions:
 *
 * - loopback (`127.0.0.1`, `localhost`, `[::1]`, every port): the emulator, a local OTLP collector, the default
 *   metrics listener, a local Postgres;
 * - every built-in provider: its base URL (`MARKETPIPE_<NAME>_BASE_URL`, else `providers.<name>.base_url`), or when
 *   none is set the defaults it declares in `capabilities.hosts`; plus any other URL-valued option under
 *   `providers.<name>` (Alpaca's `trading_base_url`);
 * - a plugin under `plugins:` is code and is not imported here (the launcher runs no plugin): its
 *   `providers.<name>` base URL and URL-valued options, or a `MARKETPIPE_<NAME>_BASE_URL`, are granted;
 * - the OTLP traces endpoint when traces are exported there (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `--trace`);
 * - the metrics listener: `--metrics-port N` on `MARKETPIPE_METRICS_HOST` / config `metrics.host`, or
 *   `metrics serve --host H --port P`;
 * - a Postgres `DATABASE_URL` / `database_url` host;
 * - whatever `MARKETPIPE_DENO_ALLOW_NET` lists (comma-separated hosts, `host:port` or URLs): for a plugin that
 *   reaches a host it does not declare.
 *
 * URLs are granted as `host:port` (443 / 80 when the URL names no port). A config the CLI will reject gets the
 * built-in defaults: the CLI then reports the problem in its own words.
 */
import { Effect, Result } from "effect"
import { type LoadedConfig, loadConfig, providerBaseUrl } from "../../src/config/load.ts"
import { tracingFromEnvironment } from "../../src/observability/tracing.ts"
import type { ProviderPlugin } from "../../src/providers/contract.ts"
import { builtinPlugins } from "../../src/providers/registry.ts"

export type Env = Readonly<Record<string, string | undefined>>

export interface NetRequest {
  /** The CLI's arguments, as `src/cli/main.ts` gets them. */
  readonly argv: ReadonlyArray<string>
  readonly env: Env
  readonly cwd: string
}

export interface NetGrant {
  /** Deno `--allow-net` entries, without duplicates, loopback first. */
  readonly hosts: ReadonlyArray<string>
  /** Entries that were not hosts (from `MARKETPIPE_DENO_ALLOW_NET` or a plugin's `hosts`), for stderr. */
  readonly warnings: ReadonlyArray<string>
}

export const EXTRA_HOSTS_VAR = "MARKETPIPE_DENO_ALLOW_NET"
export const loopbackHosts: ReadonlyArray<string> = ["127.0.0.1", "localhost", "[::1]"]

// The CLI's defaults (src/observability/server.ts), repeated so this does not load the metrics registry.
const DEFAULT_METRICS_HOST = "127.0.0.1"
const DEFAULT_METRICS_PORT = 9464

const schemePorts: Readonly<Record<string, string>> = {
  "http:": "80",
  "https:": "443",
  "postgres:": "5432",
  "postgresql:": "5432"
}
const hostPattern = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/u

/** A URL as `host:port` (the scheme's port when none is named), or a `host[:port]` as is; `undefined` if neither. */
export function hostOf(entry: string): string | undefined {
  const text = entry.trim().toLowerCase()
  if (/^[a-z][a-z0-9+.-]*:\/\//u.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return undefined
    }
    if (url.hostname === "") return undefined
    const port = url.port || schemePorts[url.protocol]
    return hostOf(port === undefined ? url.hostname : `${url.hostname}:${port}`)
  }
  const m = hostPattern.exec(text)
  if (m === null || (m[1] !== undefined && Number(m[1]) > 65_535)) return undefined
  return text
}

/** The value of `--name V` / `--name=V` before any `--`, the last one when repeated. */
function flagValue(argv: ReadonlyArray<string>, name: string): string | undefined {
  let value: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === "--") break
    if (arg === `--${name}`) value = argv[++i]
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3)
  }
  return value
}

const isMetricsServe = (argv: ReadonlyArray<string>) => {
  const positional = argv.filter((a) => !a.startsWith("-"))
  return positional[0] === "metrics" && positional[1] === "serve"
}

const urlOptions = (options: Readonly<Record<string, unknown>> | undefined): Array<string> =>
  Object.entries(options ?? {})
    .filter(([key, value]) => key !== "base_url" && typeof value === "string" && /^https?:\/\//iu.test(value))
    .map(([, value]) => value as string)

/** Where one provider plugin connects: its base URL (or declared defaults) and URL-valued options. */
function providerTargets(plugin: ProviderPlugin, loaded: LoadedConfig | undefined, env: Env): Array<unknown> {
  const base =
    loaded !== undefined
      ? providerBaseUrl(loaded, plugin.name)
      : env[`MARKETPIPE_${plugin.name.toUpperCase().replace(/[^A-Z0-9]/gu, "_")}_BASE_URL`]
  const declared: ReadonlyArray<unknown> = Array.isArray(plugin.capabilities.hosts) ? plugin.capabilities.hosts : []
  return [...(base !== undefined ? [base] : declared), ...urlOptions(loaded?.config.providers?.[plugin.name])]
}

export const netGrant = (request: NetRequest): Effect.Effect<NetGrant> =>
  Effect.gen(function* () {
    const configured = yield* Effect.result(
      loadConfig({ path: flagValue(request.argv, "config"), env: request.env, cwd: request.cwd })
    )
    const loaded = Result.isSuccess(configured) ? configured.success : undefined
    const env = loaded?.env ?? request.env

    const hosts: Array<string> = []
    const warnings: Array<string> = []
    const add = (entry: unknown, source: string) => {
      const host = typeof entry === "string" ? hostOf(entry) : undefined
      if (host === undefined) {
        warnings.push(`${source}: '${String(entry)}' is not a host, host:port or URL; ignored`)
        return
      }
      const bare = host.replace(/:\d+$/u, "")
      if (!hosts.includes(host) && !hosts.includes(bare)) hosts.push(host)
    }

    for (const h of loopbackHosts) add(h, "loopback")
    for (const plugin of builtinPlugins) {
      for (const target of providerTargets(plugin, loaded, env)) add(target, `provider ${plugin.name}`)
    }
    // Other providers are known only by their settings: importing their plugin to ask would run its code.
    const builtin = new Set(builtinPlugins.map((p) => p.name))
    for (const [name, options] of Object.entries(loaded?.config.providers ?? {})) {
      if (builtin.has(name)) continue
      for (const url of [options.base_url, ...urlOptions(options)]) if (url !== undefined) add(url, `provider ${name}`)
    }
    for (const [key, value] of Object.entries(env)) {
      const name = /^MARKETPIPE_(.+)_BASE_URL$/u.exec(key)?.[1]
      if (name !== undefined && value !== undefined && !builtin.has(name.toLowerCase())) add(value, key)
    }

    const tracing = tracingFromEnvironment(request.argv, request.env)
    if (tracing._tag === "Chosen" && tracing.options.mode === "otlp" && tracing.options.endpoint !== undefined) {
      add(tracing.options.endpoint, "OTLP endpoint")
    }

    const listener = isMetricsServe(request.argv)
      ? {
          host: flagValue(request.argv, "host") ?? DEFAULT_METRICS_HOST,
          port: flagValue(request.argv, "port") ?? String(DEFAULT_METRICS_PORT)
        }
      : flagValue(request.argv, "metrics-port") === undefined
        ? undefined
        : {
            host: env.MARKETPIPE_METRICS_HOST ?? String(loaded?.config.metrics?.host ?? DEFAULT_METRICS_HOST),
            port: flagValue(request.argv, "metrics-port") as string
          }
    if (listener !== undefined) {
      const host = listener.host.includes(":") && !listener.host.startsWith("[") ? `[${listener.host}]` : listener.host
      // Port 0 asks for any free port, so the whole host is granted.
      add(/^\d+$/u.test(listener.port) && Number(listener.port) > 0 ? `${host}:${listener.port}` : host, "metrics")
    }

    if (loaded !== undefined && /^postgres(ql)?:\/\//iu.test(loaded.databaseUrl)) {
      const host = hostOf(loaded.databaseUrl)
      if (host !== undefined) add(host, "database")
    }

    for (const entry of (env[EXTRA_HOSTS_VAR] ?? "").split(",")) {
      if (entry.trim() !== "") add(entry, EXTRA_HOSTS_VAR)
    }
    return { hosts, warnings }
  })
