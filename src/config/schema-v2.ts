/**
 * Config file schema, version 2: version 1 plus `retention` (how long each frame's bars and the repository's
 * history are kept, for `prune`) and `schedule` (defaults for `schedule generate`), both typed where v1 left
 * `retention` a free-form map. `schemas/config.v2.json` is generated from it; v1 files are still read (`migrate.ts`).
 */
import { Schema } from "effect"
import { AGE_FORM, parseAge } from "../domain/age.ts"
import { ConfigV1 } from "./schema.ts"

export const Age = Schema.String.check(
  Schema.isPattern(/^(never|[1-9][0-9]{0,4}[dmy])$/u, { expected: AGE_FORM }),
  Schema.makeFilter((s: string) => parseAge(s) !== undefined || `${s} is too long ago: ${AGE_FORM}`)
).annotate({ identifier: "Age", description: AGE_FORM })

const kept = Schema.optionalKey(Age)

export const RetentionConfig = Schema.Struct({
  "1m": kept,
  "5m": kept,
  "15m": kept,
  "30m": kept,
  "1h": kept,
  "4h": kept,
  "1d": kept,
  /** Finished jobs, their partitions, validation runs, work units and metric history. */
  db: kept
}).annotate({
  identifier: "RetentionConfig",
  description:
    "how long `prune` keeps each frame's bars (e.g. 1m: 2y, 1d: never) and the repository's history (db: 90d)"
})
export type RetentionConfig = typeof RetentionConfig.Type

export const ScheduleConfig = Schema.Struct({
  on_calendar: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  randomized_delay: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[0-9]+(s|min|h)$/u, { expected: "a delay such as 30s, 5min or 1h" }))
  ),
  env_file: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
  user: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[a-z_][a-z0-9_-]{0,31}$/u, { expected: "a user name" }))
  )
}).annotate({ identifier: "ScheduleConfig", description: "defaults for `marketpipe schedule generate`" })

export const ConfigV2 = Schema.Struct({
  ...ConfigV1.fields,
  retention: Schema.optionalKey(RetentionConfig),
  schedule: Schema.optionalKey(ScheduleConfig)
}).annotate({ identifier: "MarketPipeConfigV2", description: "MarketPipe configuration, version 2" })
export type ConfigV2 = typeof ConfigV2.Type
