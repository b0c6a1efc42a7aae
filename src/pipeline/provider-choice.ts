/**
 * A run's provider settings: the choice from flags, resolved against config and the plugin's capabilities (a
 * `UsageError` before anything is written), and the plugin's client built from them.
 */
import { Effect, Option } from "effect"
import { providerBaseUrl } from "../config/load.ts"
import type { SessionKind } from "../domain/calendar.ts"
import { UsageError } from "../domain/errors.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import type { ProviderPlugin, RateLimit } from "../providers/contract.ts"
import { pluginHost } from "../providers/host.ts"
import type { RunContext } from "./context.ts"

export interface ProviderChoice {
  readonly provider: Option.Option<string>
  readonly frame: Option.Option<Timeframe>
  readonly feed: Option.Option<string>
  readonly session: Option.Option<SessionKind>
  readonly concurrency: Option.Option<number>
}

export interface ResolvedProvider {
  readonly plugin: ProviderPlugin
  readonly frame: Timeframe
  readonly feed: string
  readonly session: SessionKind
  readonly adjustment: string
  readonly concurrency: number
  /** The limit requests will be paced at: config override, else the plugin's documented one. */
  readonly rateLimit: RateLimit | null
  readonly configured: RateLimit | undefined
  readonly options: Readonly<Record<string, unknown>>
}

export const resolveProvider = (choice: ProviderChoice, ctx: RunContext) =>
  Effect.gen(function* () {
    const { config } = ctx.loaded
    const plugin = yield* ctx.plugin(Option.getOrUndefined(choice.provider) ?? config.ingest?.provider ?? "fake")
    const caps = plugin.capabilities
    const frame = Option.getOrUndefined(choice.frame) ?? config.ingest?.frame ?? "1m"
    if (!caps.timeframes.includes(frame)) {
      return yield* new UsageError({
        field: "--frame",
        reason: `provider ${plugin.name} does not offer ${frame}; it offers: ${caps.timeframes.join(", ")}`
      })
    }
    const providerConfig = config.providers?.[plugin.name] ?? {}
    const feed =
      Option.getOrUndefined(choice.feed) ??
      (providerConfig.feed as string | undefined) ??
      config.ingest?.feed ??
      caps.defaultFeed
    if (!caps.feeds.includes(feed)) {
      return yield* new UsageError({
        field: "--feed",
        reason: `provider ${plugin.name} has no feed '${feed}'; feeds: ${caps.feeds.join(", ")}`
      })
    }
    const concurrency = Option.getOrUndefined(choice.concurrency) ?? config.ingest?.concurrency ?? 4
    if (concurrency < 1 || concurrency > 64) {
      return yield* new UsageError({ field: "--concurrency", reason: `${concurrency} is out of range; use 1 to 64` })
    }
    const { base_url: _b, feed: _f, rate_limit: limit, ...options } = providerConfig
    const configured = limit === undefined ? undefined : { requests: limit.requests, perSeconds: limit.per_seconds }
    return {
      plugin,
      frame,
      feed,
      session: Option.getOrUndefined(choice.session) ?? config.ingest?.session ?? "regular",
      adjustment: config.ingest?.adjustment ?? "raw",
      concurrency,
      rateLimit: configured ?? caps.rateLimit,
      configured,
      options
    } satisfies ResolvedProvider
  })

/** The provider settings a recorded job ran with, checked against this process's config (keys, base URLs). */
export const resolveJobProvider = (
  job: { readonly provider: string; readonly frame: string; readonly feed: string; readonly session: SessionKind },
  ctx: RunContext
) =>
  resolveProvider(
    {
      provider: Option.some(job.provider),
      frame: Option.some(job.frame as Timeframe),
      feed: Option.some(job.feed),
      session: Option.some(job.session),
      concurrency: Option.none()
    },
    ctx
  )

/** Builds the plugin's client; a plugin that refuses its settings (missing key, bad option) is a usage error. */
export const connectProvider = (resolved: ResolvedProvider, ctx: RunContext) =>
  pluginHost(resolved.plugin.name, ctx.calendar).pipe(
    Effect.flatMap((host) =>
      resolved.plugin.make(host, {
        name: resolved.plugin.name,
        baseUrl: providerBaseUrl(ctx.loaded, resolved.plugin.name),
        feed: resolved.feed,
        rateLimit: resolved.configured,
        options: resolved.options,
        env: ctx.loaded.env
      })
    ),
    Effect.mapError((e) => new UsageError({ field: `providers.${resolved.plugin.name}`, reason: e.reason }))
  )

/** The parts of an ingest request the provider settings decide. */
export const requestFor = (resolved: ResolvedProvider, ctx: RunContext) => ({
  provider: resolved.plugin.name,
  calendar: ctx.calendar,
  frame: resolved.frame,
  feed: resolved.feed,
  session: resolved.session,
  adjustment: resolved.adjustment,
  concurrency: resolved.concurrency,
  maxBarsPerRequest: resolved.plugin.capabilities.maxBarsPerRequest,
  maxSymbolsPerRequest: resolved.plugin.capabilities.maxSymbolsPerRequest
})
