/**
 * Config file schema, version 1, and the parts later versions share. This `Schema` is the one source of truth:
 * `schemas/config.v1.json` is generated from it (`npm run schemas`, `json-schema.ts`), a test keeps the two in step,
 * and `schemas/lock.json` keeps a released version's file from changing at all.
 */
import { Schema } from "effect"
import { TradingDay } from "../domain/calendar.ts"
import { aggregatedFrames, Timeframe } from "../domain/timeframe.ts"

/** The newest config version this build writes and reads natively (`schema-v4.ts`). */
export const CURRENT_CONFIG_VERSION = 4

const NonEmpty = Schema.String.check(Schema.isMinLength(1, { expected: "a non-empty string" }))
const Url = Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/u, { expected: "an http(s) URL" }))

export const RateLimitConfig = Schema.Struct({
  requests: Schema.Int.check(Schema.isGreaterThan(0)),
  per_seconds: Schema.Finite.check(Schema.isGreaterThan(0))
}).annotate({ identifier: "RateLimit", description: "at most `requests` requests every `per_seconds` seconds" })

/** Known keys of `providers.<name>`; any other key is an option for that provider's plugin. */
export const ProviderConfig = Schema.StructWithRest(
  Schema.Struct({
    base_url: Schema.optionalKey(Url),
    feed: Schema.optionalKey(NonEmpty),
    rate_limit: Schema.optionalKey(RateLimitConfig)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
).annotate({ identifier: "ProviderConfig" })

export const IngestConfig = Schema.Struct({
  provider: Schema.optionalKey(NonEmpty),
  feed: Schema.optionalKey(NonEmpty),
  frame: Schema.optionalKey(Timeframe),
  session: Schema.optionalKey(Schema.Literals(["regular", "extended"])),
  adjustment: Schema.optionalKey(Schema.Literals(["raw", "split", "dividend", "all"])),
  concurrency: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 })))
}).annotate({ identifier: "IngestConfig" })

export const CalendarConfig = Schema.Struct({
  closures: Schema.optionalKey(Schema.Array(TradingDay)),
  early_closes: Schema.optionalKey(Schema.Array(TradingDay))
}).annotate({ identifier: "CalendarConfig", description: "closures and 13:00 early closes the rules cannot know" })

export const AggregationConfig = Schema.Struct({
  frames: Schema.optionalKey(Schema.Array(Schema.Literals(aggregatedFrames))),
  after_ingest: Schema.optionalKey(Schema.Boolean),
  session: Schema.optionalKey(Schema.Literals(["regular", "extended"]))
}).annotate({
  identifier: "AggregationConfig",
  description: "which frames are built from 1m bars, and whether ingest and backfill build them afterwards"
})

const Severity = Schema.Literals(["error", "warning", "off"])

export const ValidationConfig = Schema.Struct({
  rules: Schema.optionalKey(
    Schema.Struct({
      ohlc_consistency: Schema.optionalKey(Severity),
      non_positive_price: Schema.optionalKey(Severity),
      negative_volume: Schema.optionalKey(Severity),
      misaligned_timestamp: Schema.optionalKey(Severity),
      outside_session: Schema.optionalKey(Severity),
      zero_volume_price_move: Schema.optionalKey(Severity),
      price_jump: Schema.optionalKey(Severity),
      volume_spike: Schema.optionalKey(Severity),
      session_gap: Schema.optionalKey(Severity)
    }).annotate({
      identifier: "RuleSeverities",
      description: "error: quarantine the bar; warning: keep and report; off"
    })
  ),
  price_jump_threshold: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0))),
  volume_spike_factor: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(1))),
  volume_spike_window: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 3, maximum: 10_000 }))),
  gap_minutes: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
}).annotate({ identifier: "ValidationConfig", description: "bar rules: a severity each, and their thresholds" })

/** Bytes in one unit of a size as DuckDB reads it: KB, MB, … are powers of 1000, KiB, MiB, … powers of 1024. */
const sizeUnits: Readonly<Record<string, number>> = {
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40
}

/** The bytes a size such as `512MB` or `4GiB` stands for (`NaN` when it is not one). */
export function sizeBytes(size: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?) ?([KMGT]I?B)$/iu.exec(size)
  return m === null ? Number.NaN : Number(m[1]) * (sizeUnits[(m[2] ?? "").toUpperCase()] ?? Number.NaN)
}

/** Below this DuckDB cannot run much of anything; a smaller value is almost surely a typo (1KB for 1GB). */
export const MIN_MEMORY_LIMIT = "64MB"

export const memoryLimitForm = `a size such as 512MB or 4GB (KB, MB, GB, TB or KiB, MiB, GiB, TiB), at least ${MIN_MEMORY_LIMIT}`

export const MemoryLimit = Schema.String.check(
  // Spelled out case by case: a regex flag other than `u` would keep the pattern out of the JSON Schema.
  Schema.isPattern(/^[0-9]+(\.[0-9]+)? ?[KkMmGgTt][Ii]?[Bb]$/u, { expected: memoryLimitForm }),
  Schema.makeFilter((s: string) => sizeBytes(s) >= sizeBytes(MIN_MEMORY_LIMIT) || `at least ${MIN_MEMORY_LIMIT}`)
)

export const MAX_QUERY_THREADS = 256

export const QueryThreads = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_QUERY_THREADS }))

export const QueryConfig = Schema.Struct({
  memory_limit: Schema.optionalKey(MemoryLimit),
  threads: Schema.optionalKey(QueryThreads)
}).annotate({
  identifier: "QueryConfig",
  description:
    "caps for `marketpipe query` (DuckDB): memory_limit (default a quarter of the RAM) and threads (default CPUs - 1, 1 to 4); --memory-limit and --threads win"
})
export type QueryConfig = typeof QueryConfig.Type

/** Sections later versions of MarketPipe fill in; accepted as free-form maps so today's files stay valid. */
const Section = Schema.Record(Schema.String, Schema.Unknown)

export const ConfigV1 = Schema.Struct({
  config_version: Schema.optionalKey(Schema.Int),
  data_dir: Schema.optionalKey(NonEmpty),
  database_url: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/u, {
        expected: "a URL starting with sqlite:, postgres:// or postgresql://"
      })
    )
  ),
  providers: Schema.optionalKey(Schema.Record(Schema.String, ProviderConfig)),
  plugins: Schema.optionalKey(Schema.Array(NonEmpty)),
  ingest: Schema.optionalKey(IngestConfig),
  calendar: Schema.optionalKey(CalendarConfig),
  validation: Schema.optionalKey(ValidationConfig),
  aggregation: Schema.optionalKey(AggregationConfig),
  query: Schema.optionalKey(QueryConfig),
  retention: Schema.optionalKey(Section),
  metrics: Schema.optionalKey(Section)
}).annotate({ identifier: "MarketPipeConfigV1", description: "MarketPipe configuration, version 1" })
export type ConfigV1 = typeof ConfigV1.Type
