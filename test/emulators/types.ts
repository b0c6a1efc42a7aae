/** The emulator's route contract: each provider format is one module of routes over the shared dataset. */
import type { Dataset } from "./dataset.ts"

export type ProviderName = "alpaca" | "polygon" | "finnhub" | "yahoo"

export interface EmulatorRequest {
  readonly method: string
  /** Path with duplicate slashes collapsed (Finnhub's Python client sends `//stock/candle`). */
  readonly path: string
  readonly query: URLSearchParams
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>
}

export interface EmulatorResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** Serialised as JSON unless it is a string. */
  readonly body: unknown
}

export interface EmulatorKeys {
  readonly alpaca: { readonly id: string; readonly secret: string }
  readonly polygon: string
  readonly finnhub: string
}

export interface EmulatorContext {
  readonly dataset: Dataset
  readonly keys: EmulatorKeys
  /** The emulator's own origin, e.g. `http://127.0.0.1:40123` (for absolute `next_url`s). */
  readonly origin: string
  /** Directory of the provider fixture folders (`test/fixtures/providers`). */
  readonly fixtures: string
  /** Milliseconds since the epoch, as the emulator sees it. */
  readonly now: () => number
  /** Share of the consolidated volume Alpaca's `iex` feed reports (`EmulatorOptions.iexVolumeShare`); unset: all of it. */
  readonly iexVolumeShare?: number
}

export interface ProviderRoutes {
  readonly provider: ProviderName
  /** Whether this module serves the request. */
  readonly matches: (req: EmulatorRequest) => boolean
  readonly handle: (req: EmulatorRequest, ctx: EmulatorContext) => EmulatorResponse
  /** The documented limit the emulator enforces per key when rate limiting is on. */
  readonly documentedLimit: { readonly requests: number; readonly perSeconds: number }
  /** Which key a request uses (for per-key rate limiting); `"anonymous"` for keyless APIs. */
  readonly keyOf: (req: EmulatorRequest) => string
  /** The provider's own 429 response; `resetAtS` is when the window frees up (Unix seconds). */
  readonly tooManyRequests: (resetAtS: number, limit: number) => EmulatorResponse
  /** Headers every response carries, when the provider sends rate-limit headers (Alpaca). */
  readonly rateHeaders?: (limit: number, remaining: number, resetAtS: number) => Readonly<Record<string, string>>
}

/** A quota the emulator enforces on one provider. */
export interface EmulatorRateLimit {
  readonly requests: number
  readonly perSeconds: number
}

/** `--rate-limit provider=requests/seconds` flags (`alpaca=200/60`), as the emulator's per-provider quotas. */
export function parseRateLimits(specs: ReadonlyArray<string>): Partial<Record<ProviderName, EmulatorRateLimit>> {
  const limits: Partial<Record<ProviderName, EmulatorRateLimit>> = {}
  for (const spec of specs) {
    const m = /^(alpaca|polygon|finnhub|yahoo)=(\d+)\/(\d+)$/u.exec(spec)
    if (m === null) throw new Error(`--rate-limit ${spec}: use provider=requests/seconds, e.g. alpaca=200/60`)
    limits[m[1] as ProviderName] = { requests: Number(m[2]), perSeconds: Number(m[3]) }
  }
  return limits
}
