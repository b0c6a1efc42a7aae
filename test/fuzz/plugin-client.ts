/**
 * What the provider fuzz properties share: the credentials the fuzzed plugins get (which no error may show), a
 * client built as the host builds one but unpaced and quick to retry, and the typed failure of a run.
 */
import { Cause, Effect } from "effect"
import { makeCalendar, type ProviderClient, type ProviderPlugin } from "../../mod.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { kitServices } from "../support/run-services.ts"

/** One registry for every fuzzed client (a registry per case would only cost time). */
export const services = kitServices()
export const calendar = makeCalendar()

export const SECRETS = {
  ALPACA_KEY: "fuzz-alpaca-key-0123456789",
  ALPACA_SECRET: "fuzz-alpaca-secret-0123456789",
  POLYGON_API_KEY: "fuzz-polygon-key-0123456789",
  FINNHUB_API_KEY: "fuzz-finnhub-key-0123456789"
}

/** The plugin's client on a base URL the in-process fetch answers, with no pacing and one quick retry. */
export const fuzzClient = (plugin: ProviderPlugin, options: Record<string, unknown> = {}): Promise<ProviderClient> =>
  Effect.runPromise(
    plugin.make(makePluginHost(plugin.name, calendar, services), {
      name: plugin.name,
      baseUrl: "http://fuzz.invalid",
      feed: undefined,
      rateLimit: { requests: 1_000_000_000, perSeconds: 1 },
      options: { retry_base_ms: 0, max_attempts: 2, ...options },
      env: SECRETS
    })
  )

/** The typed failure in `cause`, or what else is in it. */
export function typedFailure(cause: Cause.Cause<unknown>): { readonly error: unknown } | string {
  if (Cause.hasDies(cause) || Cause.hasInterrupts(cause) || !Cause.hasFails(cause)) {
    return `not a typed failure:\n${Cause.pretty(cause)}`
  }
  const found = Cause.findErrorOption(cause)
  return found._tag === "Some" ? { error: found.value } : Cause.pretty(cause)
}
