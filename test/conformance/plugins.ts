/**
 * The plugins the conformance suite runs, each described by what differs between them: how a run reaches the
 * emulator, which options make it page, what its lake carries (Yahoo's prices are float32, Finnhub and Yahoo carry
 * no vwap or trade count) and how a rejected credential is worded. A new HTTP provider adds an entry here.
 */

import type { ProviderPlugin } from "../../mod.ts"
import alpaca from "../../plugins/alpaca/mod.ts"
import finnhub from "../../plugins/finnhub/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import yahoo from "../../plugins/yahoo/mod.ts"
import type { Emulator } from "../emulators/server.ts"
import type { PluginRun } from "../support/provider-run.ts"

export interface Conformance {
  readonly plugin: ProviderPlugin
  /** A run against the emulator with these options (credentials from `env`, else the emulator's good ones). */
  readonly run: (emulator: Emulator, options?: Record<string, unknown>, env?: Record<string, string>) => PluginRun
  /** Options that make a week of two symbols take many requests (small pages or one-day chunks). */
  readonly paging: Record<string, unknown>
  /** `exact`: every column equals the fake provider's; `prices`: rows and volumes equal, prices to float32. */
  readonly lake: "exact" | "ohlcv" | "prices"
  /** Credentials the emulator refuses, the words the error must use and the secret it must never show. */
  readonly rejected?: (emulator: Emulator) => {
    readonly env: Record<string, string>
    readonly secret: string
    readonly message: RegExp
  }
}

export const conformance: ReadonlyArray<Conformance> = [
  {
    plugin: alpaca,
    run: (e, options = {}, env) => ({
      plugin: alpaca,
      baseUrl: e.url,
      env: env ?? { ALPACA_KEY: e.keys.alpaca.id, ALPACA_SECRET: e.keys.alpaca.secret },
      feed: "sip",
      options
    }),
    paging: { page_limit: 300 },
    lake: "exact",
    rejected: (e) => ({
      env: { ALPACA_KEY: e.keys.alpaca.id, ALPACA_SECRET: "wrong-secret-value-123" },
      secret: "wrong-secret-value-123",
      message: /check ALPACA_KEY and ALPACA_SECRET/
    })
  },
  {
    plugin: polygon,
    run: (e, options = {}, env) => ({
      plugin: polygon,
      baseUrl: e.url,
      env: env ?? { POLYGON_API_KEY: e.keys.polygon },
      options
    }),
    paging: { page_limit: 300 },
    lake: "exact",
    rejected: () => ({
      env: { POLYGON_API_KEY: "wrong-polygon-key-123" },
      secret: "wrong-polygon-key-123",
      message: /check POLYGON_API_KEY/
    })
  },
  {
    plugin: finnhub,
    run: (e, options = {}, env) => ({
      plugin: finnhub,
      baseUrl: `${e.url}/api/v1`,
      env: env ?? { FINNHUB_API_KEY: e.keys.finnhub },
      options
    }),
    paging: { chunk_days: 1 },
    lake: "ohlcv",
    rejected: () => ({
      env: { FINNHUB_API_KEY: "wrong-finnhub-key-123" },
      secret: "wrong-finnhub-key-123",
      message: /check FINNHUB_API_KEY/
    })
  },
  {
    plugin: yahoo,
    // `max_history_days: 0`: the shared dataset's days are from 2024, older than Yahoo's 30 days of 1m bars.
    run: (e, options = {}) => ({
      plugin: yahoo,
      baseUrl: e.url,
      env: {},
      options: { max_history_days: 0, ...options }
    }),
    paging: { chunk_days: 1 },
    lake: "prices"
  }
]
