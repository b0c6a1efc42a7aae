/** A symbol's metadata as the repository stores it (JSON): every field but the ticker optional. */
import { Schema } from "effect"
import { Symbol } from "../../domain/symbol.ts"
import { securityTypes } from "../../domain/symbol-meta.ts"

const text = Schema.optionalKey(Schema.String)
const amount = Schema.optionalKey(Schema.Finite)

export const StoredMeta = Schema.Struct({
  symbol: Symbol,
  name: text,
  exchange: text,
  active: Schema.optionalKey(Schema.Boolean),
  type: Schema.optionalKey(Schema.Literals(securityTypes)),
  sector: text,
  industry: text,
  sic: text,
  marketCap: amount,
  sharesOutstanding: amount,
  avgVolume: amount,
  lastClose: amount,
  currency: text,
  listDate: text,
  delistDate: text,
  source: text,
  asOf: text,
  sources: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
})
