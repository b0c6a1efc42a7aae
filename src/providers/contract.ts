/**
 * The provider plugin contract, version 2 (exported from `mod.ts`); version 1 plugins still load (see
 * `docs/providers.md`, "Contract versions"). A plugin is a module whose default export is a
 * `ProviderPlugin`. It has no runtime imports: the host hands it Effect's modules and the provider kit, so the same
 * plugin file works from source and from the compiled binary (which cannot resolve a plugin's bare imports).
 */
import type { Data, Duration, Effect, Option, Schedule, Schema, Stream } from "effect"
import type { BarBatch, BatchBuilder } from "../domain/bar.ts"
import type { SessionKind, TradingCalendar } from "../domain/calendar.ts"
import type { CorporateAction } from "../domain/corporate-action.ts"
import type { ProviderError } from "../domain/errors.ts"
import type { Symbol } from "../domain/symbol.ts"
import type { SecurityType, SymbolMeta } from "../domain/symbol-meta.ts"
import type { Timeframe } from "../domain/timeframe.ts"
import type { ProviderErrorOptions } from "./kit/errors.ts"
import type { HttpKitOptions, ProviderHttp } from "./kit/http.ts"
import type { HttpTuning, HttpTuningFields } from "./kit/options.ts"

export type { BarColumns, BarColumnsSpec, TimeField } from "./kit/bar-columns.ts"
export type { ProviderErrorOptions } from "./kit/errors.ts"
export type {
  ColumnsPage,
  GetDecodedOptions,
  HttpJsonResponse,
  HttpKitOptions,
  ProviderHttp,
  QueryValue
} from "./kit/http.ts"
export type { HttpTuning, HttpTuningFields } from "./kit/options.ts"

/** The contract version this host's types describe; a plugin built against it sets `contractVersion: 3`. */
export const PLUGIN_CONTRACT_VERSION = 3

/**
 * Every contract version this host loads. v2 only added optional parts (`reference`, `capabilities.reference`), and
 * v3 too (`corporateActions`, `capabilities.corporateActions`), so a plugin of an older version is a valid plugin of
 * the newer ones without them.
 */
export const SUPPORTED_CONTRACT_VERSIONS: ReadonlyArray<number> = [1, 2, 3]

/** What a plugin's requests give: an Effect failing with a `ProviderError` (a type for plugins, which import no Effect). */
export type PluginEffect<A> = Effect.Effect<A, ProviderError>
/** A plugin's data: a Stream failing with a `ProviderError`. */
export type PluginStream<A> = Stream.Stream<A, ProviderError>

export interface RateLimit {
  readonly requests: number
  readonly perSeconds: number
}

export interface ProviderCapabilities {
  readonly feeds: ReadonlyArray<string>
  readonly defaultFeed: string
  readonly timeframes: ReadonlyArray<Timeframe>
  /** Bars one request may return (counted across symbols where the API does so). */
  readonly maxBarsPerRequest: number
  readonly maxSymbolsPerRequest: number
  /** How far back intraday history goes, in days; `null` when unlimited. */
  readonly historyDays: number | null
  /** The provider's documented rate limit; `null` when none applies. */
  readonly rateLimit: RateLimit | null
  readonly adjustments: ReadonlyArray<string>
  /** Environment variables holding credentials the plugin reads. */
  readonly credentials: ReadonlyArray<string>
  /**
   * Where the plugin connects when `providers.<name>.base_url` is not set: URLs (`https://data.alpaca.markets`) or
   * `host[:port]`. Optional. `deno task` grants Deno network access to these (a configured base URL replaces them,
   * URL-valued plugin options are added); a plugin that reaches other hosts needs `MARKETPIPE_DENO_ALLOW_NET`.
   */
  readonly hosts?: ReadonlyArray<string>
  /** What the plugin's `reference` part can tell (contract v2); absent when it has none. */
  readonly reference?: ReferenceCapabilities
  /** Which corporate actions its `corporateActions` part lists (contract v3); absent when it has none. */
  readonly corporateActions?: CorporateActionsCapabilities
}

export interface CorporateActionsCapabilities {
  /** Forward and reverse splits, with their ratio. */
  readonly splits: boolean
  /** Cash dividends, regular and special. */
  readonly dividends: boolean
}

export interface ReferenceCapabilities {
  /** It can list the market as it was on a past day (Polygon's `date`), not only as it is now. */
  readonly pointInTime: boolean
  /** It lists symbols that have stopped trading, with their delisting day. */
  readonly delisted: boolean
  /** Which fields per-symbol details add (`marketCap`, `sector`, …): one request per symbol, so they are opt-in. */
  readonly detailFields: ReadonlyArray<string>
  /** It has one request for a whole day's daily bars across the market (`marketDay`). */
  readonly marketDay: boolean
}

export interface BarsRequest {
  readonly symbols: ReadonlyArray<Symbol>
  readonly frame: Timeframe
  /** First bar start, UTC ms, inclusive. */
  readonly start: number
  /** UTC ms, exclusive. */
  readonly end: number
  readonly feed: string
  readonly adjustment: string
  readonly session: SessionKind
}

/** A symbol's metadata as a plugin lists it: the ticker, and whichever other fields the source has. */
export type { SecurityType, SymbolMeta } from "../domain/symbol-meta.ts"

export interface ReferenceRequest {
  /** The New York trading day (`YYYY-MM-DD`) the listing is to describe; today for "as it is now". */
  readonly asOf: string
  /**
   * The symbols to fetch per-symbol details for (`capabilities.reference.detailFields`), or `"all"` for every one
   * listed. Details cost a request each, paced by the rate limit like every other.
   */
  readonly details: "all" | ReadonlyArray<Symbol>
}

/** One symbol's daily bar in a whole-market day (`marketDay`): what average volume and last close are made of. */
export interface MarketDayBar {
  readonly symbol: Symbol
  readonly close: number
  readonly volume: number
}

/** A plugin's reference data (contract v2): what it lists, and the market's daily bars where it has them in bulk. */
export interface ProviderReference {
  /**
   * Every symbol the source listed as trading on `request.asOf`, and (where `capabilities.reference.delisted`) those
   * that had stopped by then, with `active: false` and `delistDate`. Fields the source lacks are left out, never
   * guessed; `source` and `asOf` are set by the host.
   */
  readonly symbols: (request: ReferenceRequest) => Stream.Stream<SymbolMeta, ProviderError>
  /** The day's daily bars for the whole market in one request (Polygon's grouped daily); empty on a holiday. */
  readonly marketDay?: (day: string) => Stream.Stream<MarketDayBar, ProviderError>
}

/** Splits and cash dividends, as a plugin reports them (`domain/corporate-action.ts` says what each field means). */
export type { CorporateAction, DividendAction, SplitAction } from "../domain/corporate-action.ts"

export interface CorporateActionsRequest {
  readonly symbols: ReadonlyArray<Symbol>
  /** First and last ex-date wanted, New York trading days (`YYYY-MM-DD`), inclusive. */
  readonly from: string
  readonly to: string
  /** The kinds wanted, among those `capabilities.corporateActions` offers. */
  readonly kinds: ReadonlyArray<"split" | "dividend">
}

/** A plugin's corporate actions (contract v3). */
export interface ProviderCorporateActions {
  /** Every action of the kinds asked with an ex-date in the range, for the symbols asked; paging handled inside. */
  readonly list: (request: CorporateActionsRequest) => Stream.Stream<CorporateAction, ProviderError>
}

export interface ProviderClient {
  /** Bars for the request, one symbol per batch, pagination handled inside. */
  readonly bars: (request: BarsRequest) => Stream.Stream<BarBatch, ProviderError>
  /** Contract v2: reference data for universes. */
  readonly reference?: ProviderReference
  /** Contract v3: splits and dividends, for adjusted reads. */
  readonly corporateActions?: ProviderCorporateActions
  /**
   * Contract v1's symbol list (tickers, names, exchanges as listed now). Still read from v1 plugins that have no
   * `reference`: the host treats it as `reference.symbols` with no point in time, delisted symbols or details.
   */
  readonly symbols?: () => Stream.Stream<SymbolMeta, ProviderError>
}

/** What the host hands a plugin: Effect's modules (use these, never your own copy) and the provider kit. */
export interface PluginHost {
  readonly Effect: typeof Effect
  readonly Stream: typeof Stream
  readonly Schema: typeof Schema
  readonly Option: typeof Option
  readonly Schedule: typeof Schedule
  readonly Duration: typeof Duration
  readonly Data: typeof Data
  readonly kit: ProviderKit
}

export interface ProviderKit {
  readonly calendar: TradingCalendar
  /**
   * The shared HTTP client: rate limiting per key, retries with backoff honouring `Retry-After` /
   * `X-Ratelimit-Reset`, secret masking, request metrics. Plugins never make their own.
   */
  readonly http: (options: Omit<HttpKitOptions, "provider">) => ProviderHttp
  /** `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` to UTC ms without `Date.parse` per bar; NaN when malformed. */
  readonly parseIsoUtc: (text: string) => number
  /** Replaces every registered secret in `text`. */
  readonly mask: (text: string) => string
  /** Parses CSV text with a header row into records (csv-parse; quoted fields, CRLF, BOM handled). */
  readonly parseCsv: (text: string) => ReadonlyArray<Readonly<Record<string, string>>>
  /**
   * Builds the error a plugin fails with (masked). Retryable errors are retried with backoff by the host; `fatal`
   * stops the run (e.g. credentials missing or rejected). The positional form is kept for plugins written before
   * the options object.
   */
  readonly providerError: {
    (options: ProviderErrorOptions): ProviderError
    (reason: string, retryable: boolean, fatal?: boolean, aboutSymbol?: boolean): ProviderError
  }
  /**
   * Decodes `settings.options` with the plugin's schema; a mismatch is a non-retryable
   * `providers.<name>: <what is wrong>` error (or `reason(message)` when given).
   */
  readonly decodeOptions: <S extends Schema.Decoder<unknown>>(
    schema: S,
    options: Readonly<Record<string, unknown>>,
    reason?: (message: string) => string
  ) => Effect.Effect<S["Type"], ProviderError>
  /** The `max_attempts` and `retry_base_ms` option keys, to spread into an HTTP plugin's options struct. */
  readonly httpTuningFields: HttpTuningFields
  /** Those keys, as set, in `http({ ... })`'s terms (`maxAttempts`, `retryBaseMs`). */
  readonly httpTuning: (options: HttpTuning) => Pick<HttpKitOptions, "maxAttempts" | "retryBaseMs">
  /** Allocates an empty column batch of `length` rows. */
  readonly emptyBatch: (symbol: Symbol, length: number) => BarBatch
  /** Fills a batch bar by bar, checking every value is a finite number: the tight loop every plugin needs. */
  readonly batchBuilder: (symbol: Symbol, capacity: number) => BatchBuilder
  /** The New York trading day (YYYY-MM-DD) a UTC instant falls on. */
  readonly tradingDayOf: (utcMs: number) => string
  /** A bar start the lake can file under a day: whole milliseconds from 0001-01-01 to 9999-12-31 UTC. */
  readonly isBarTime: (ms: unknown) => ms is number
  /** A wire value for an error message: JSON, at most 120 characters, never a throw (deeply nested values). */
  readonly shownWire: (value: unknown) => string
  /** Validates a raw ticker; `undefined` when it is not a symbol. */
  readonly parseSymbol: (raw: string) => Symbol | undefined
  /** Contract v2: the security types `SymbolMeta.type` takes (Polygon's codes), for mapping a source's own. */
  readonly securityTypes: ReadonlyArray<SecurityType>
}

/** A provider's settings from config and environment (`providers.<name>` plus `MARKETPIPE_<NAME>_BASE_URL`). */
export interface ProviderSettings {
  readonly name: string
  readonly baseUrl: string | undefined
  readonly feed: string | undefined
  /** `providers.<name>.rate_limit` when set; otherwise use `capabilities.rateLimit`. */
  readonly rateLimit: RateLimit | undefined
  /** Every other key under `providers.<name>`, for the plugin to decode with its own schema. */
  readonly options: Readonly<Record<string, unknown>>
  readonly env: Readonly<Record<string, string | undefined>>
}

export interface ProviderPlugin {
  readonly contractVersion: number
  readonly name: string
  readonly description: string
  readonly capabilities: ProviderCapabilities
  readonly make: (host: PluginHost, settings: ProviderSettings) => Effect.Effect<ProviderClient, ProviderError>
}
