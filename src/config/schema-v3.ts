/**
 * Config file schema, version 3: version 2 plus `providers_chain`, the providers a run falls back through when one
 * fails a day (after its retries) or returns nothing for a session day that should have bars — for every frame, or
 * per frame with a `default`. `schemas/config.v3.json` is generated from it; v1 and v2 files are still read.
 */
import { Schema } from "effect"
import { ConfigV2 } from "./schema-v2.ts"

const Chain = Schema.Array(
  Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_-]{0,31}$/u, { expected: "a provider name" }))
)
  .check(Schema.isMinLength(1, { expected: "at least one provider" }))
  .check(
    Schema.makeFilter((names: ReadonlyArray<string>) =>
      new Set(names).size === names.length ? undefined : "a provider appears twice in the chain"
    )
  )
  .annotate({ identifier: "ProviderChain", description: "providers in the order they are tried" })

const link = Schema.optionalKey(Chain)

export const ProvidersChainConfig = Schema.Union([
  Chain,
  Schema.Struct({
    default: link,
    "1m": link,
    "5m": link,
    "15m": link,
    "30m": link,
    "1h": link,
    "4h": link,
    "1d": link
  }).annotate({ identifier: "ProviderChainsByFrame", description: "a chain per frame; `default` for the others" })
])
export type ProvidersChainConfig = typeof ProvidersChainConfig.Type

export const ConfigV3 = Schema.Struct({
  ...ConfigV2.fields,
  providers_chain: Schema.optionalKey(ProvidersChainConfig)
}).annotate({ identifier: "MarketPipeConfigV3", description: "MarketPipe configuration, version 3" })
export type ConfigV3 = typeof ConfigV3.Type
