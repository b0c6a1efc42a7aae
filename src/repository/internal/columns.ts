/**
 * Column codecs: what each driver hands back for a column type, decoded to one value. Postgres gives `timestamptz`
 * and `date` as `Date`, `jsonb` parsed and BIGINT/`sum`/`count` as strings; SQLite gives text and numbers.
 */
import { Option, Schema, SchemaGetter, SchemaTransformation } from "effect"
import { TradingDay } from "../../domain/calendar.ts"

const DateOrText = Schema.Union([Schema.String, Schema.Date])

/** An instant stored as ISO text (SQLite) or `timestamptz` (Postgres): ISO 8601 text. */
export const Instant = DateOrText.pipe(
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({
      decode: (v) => (v instanceof Date ? v.toISOString() : v),
      encode: (s) => s
    })
  )
)

/** A `YYYY-MM-DD` day stored as text (SQLite) or `date` (Postgres: midnight UTC, or text). */
export const Day = DateOrText.pipe(
  Schema.decodeTo(
    TradingDay,
    SchemaTransformation.transform({
      decode: (v) => (v instanceof Date ? v.toISOString() : v).slice(0, 10),
      encode: (s) => s
    })
  )
)

/** A number from an INTEGER/REAL column, or from a BIGINT or aggregate the driver returns as bigint or text. */
export const Count = Schema.Union([Schema.Number, Schema.String, Schema.BigInt]).pipe(
  Schema.decodeTo(Schema.Finite, SchemaTransformation.transform({ decode: (v) => Number(v), encode: (n) => n }))
)

/** A sum over no rows is NULL: it counts zero. */
export const CountOrZero = Schema.NullOr(Count).pipe(
  Schema.decodeTo(Schema.Finite, SchemaTransformation.transform({ decode: (v) => v ?? 0, encode: (n) => n }))
)

/** JSON stored as text (SQLite) or `jsonb` (Postgres, parsed by the driver). */
export const Json = <S extends Schema.Top>(schema: S) => Schema.Union([schema, Schema.fromJsonString(schema)])

/** A nullable column of `column` (text on both sides) whose value is left out of the record when it is NULL. */
const absentWhenNull = <C extends Schema.Codec<string, unknown>>(column: C) =>
  Schema.optionalKey(Schema.String).pipe(
    Schema.encodeTo(Schema.NullOr(column), {
      decode: SchemaGetter.transformOptional(Option.filter((v: string | null): v is string => v !== null)),
      encode: SchemaGetter.transformOptional((o) => o)
    })
  )

/** A nullable text column whose value is left out of the record when it is NULL. */
export const OptionalText = absentWhenNull(Schema.String)

/** A nullable instant column (`Instant`), left out of the record when it is NULL. */
export const OptionalInstant = absentWhenNull(Instant)

/** A row that is only an id (`RETURNING id`, `SELECT id`). */
export const IdRow = Schema.Struct({ id: Count })
