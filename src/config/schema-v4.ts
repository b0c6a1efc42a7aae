/**
 * Config file schema, version 4: version 3 plus `revalidate` (the trailing window every backfill fetches again to
 * catch a provider rewriting history, unless `--revalidate` says otherwise) and `retention.versions` (how long
 * `prune versions` keeps the lake's superseded file versions, which as-of reads use). `schemas/config.v4.json` is
 * generated from it; v1 to v3 files are still read.
 */
import { Schema } from "effect"
import { RetentionConfig } from "./schema-v2.ts"
import { ConfigV3 } from "./schema-v3.ts"

/** A trailing window of calendar days, weeks or months, as `--lookback` takes it; `off` for none. */
export const RevalidateWindow = Schema.String.check(
  Schema.isPattern(/^(off|[1-9][0-9]{0,2}[dwm])$/u, { expected: "a window such as 5d, 2w or 1m, or off" })
).annotate({ identifier: "RevalidateWindow", description: "trailing window fetched again by every backfill" })

export const RetentionConfigV4 = Schema.Struct({
  ...RetentionConfig.fields,
  /** Superseded lake file versions (as-of reads need them). */
  versions: RetentionConfig.fields.db
}).annotate({
  identifier: "RetentionConfigV4",
  description:
    "how long `prune` keeps each frame's bars (e.g. 1m: 2y), the repository's history (db: 90d) and superseded file versions (versions: 1y)"
})

export const ConfigV4 = Schema.Struct({
  ...ConfigV3.fields,
  retention: Schema.optionalKey(RetentionConfigV4),
  revalidate: Schema.optionalKey(RevalidateWindow)
}).annotate({ identifier: "MarketPipeConfigV4", description: "MarketPipe configuration, version 4" })
export type ConfigV4 = typeof ConfigV4.Type

/** The config as the rest of MarketPipe reads it: the newest version (older files are upgraded when loaded). */
export const Config = ConfigV4
export type Config = ConfigV4
