/**
 * The JSON Schema documents editors get for the config, one per version (`schemas/config.vN.json`), generated from
 * the Schemas. Decoding rejects unknown keys everywhere except under a provider (plugin options), and the documents
 * say so too.
 */
import { Schema } from "effect"
import { ConfigV1 } from "./schema.ts"
import { ConfigV2 } from "./schema-v2.ts"
import { ConfigV3 } from "./schema-v3.ts"
import { ConfigV4 } from "./schema-v4.ts"

const v1Closed = [
  "MarketPipeConfigV1",
  "IngestConfig",
  "CalendarConfig",
  "RateLimit",
  "AggregationConfig",
  "QueryConfig",
  "ValidationConfig",
  "RuleSeverities"
]

const v2Closed = [...v1Closed, "MarketPipeConfigV2", "RetentionConfig", "ScheduleConfig"]

const v3Closed = [...v2Closed, "MarketPipeConfigV3", "ProviderChainsByFrame"]

const versions = {
  1: { schema: ConfigV1, closed: v1Closed },
  2: { schema: ConfigV2, closed: v2Closed },
  3: { schema: ConfigV3, closed: v3Closed },
  4: { schema: ConfigV4, closed: [...v3Closed, "MarketPipeConfigV4", "RetentionConfigV4"] }
} as const

export type ConfigVersion = keyof typeof versions
export const configVersions: ReadonlyArray<ConfigVersion> = [1, 2, 3, 4]

/** The Schema a file of `version` is decoded with before it is upgraded to the current one. */
export const configSchemaOf = (version: ConfigVersion) => versions[version].schema

export const isConfigVersion = (n: number): n is ConfigVersion => Object.hasOwn(versions, n)

/** The JSON Schema document of config version `version`, as checked in. */
export function configJsonSchema(version: ConfigVersion): unknown {
  const { schema, closed } = versions[version]
  const doc = Schema.toJsonSchemaDocument(schema as Schema.Top)
  const defs = doc.definitions as Record<string, Record<string, unknown>>
  for (const name of closed) {
    const def = defs[name]
    if (def !== undefined) def.additionalProperties = false
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `https://marketpipe.dev/schemas/config.v${version}.json`,
    title: `MarketPipe config v${version}`,
    ...doc.schema,
    $defs: doc.definitions
  }
}
