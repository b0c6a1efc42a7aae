/**
 * The `CorporateActions` service: splits and cash dividends as each source reported them, stored once per source,
 * symbol, kind and ex-date, with the time MarketPipe first saw each. `actions refresh` records what a provider lists;
 * adjusted reads take the actions known at their `asOf` (all of them without one).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type CorporateAction, distinctActions, type SplitAction } from "../domain/corporate-action.ts"
import type { RepositoryError } from "../domain/errors.ts"
import { Symbol } from "../domain/symbol.ts"
import { Day, Instant } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"

/** An action with where it came from and when it was first seen. */
export type StoredAction = CorporateAction & { readonly source: string; readonly firstSeenAt: string }

/** What a refresh changed, per source. */
export interface ActionsRecorded {
  readonly added: number
  /** Already known, with some value now different (the new values are kept; the first-seen time stays). */
  readonly changed: number
  readonly unchanged: number
}

const Num = Schema.NullOr(Schema.Union([Schema.Number, Schema.String]))
const Row = Schema.Struct({
  source: Schema.String,
  symbol: Symbol,
  kind: Schema.Literals(["split", "dividend"]),
  ex_date: Day,
  split_from: Num,
  split_to: Num,
  amount: Num,
  currency: Schema.NullOr(Schema.String),
  record_date: Schema.NullOr(Day),
  pay_date: Schema.NullOr(Day),
  special: Schema.NullOr(Schema.Union([Schema.Boolean, Schema.Number])),
  first_seen_at: Instant
})
const rows = decodeRows(Row)

const toAction = (r: typeof Row.Type): StoredAction =>
  r.kind === "split"
    ? {
        kind: "split",
        symbol: r.symbol,
        exDate: r.ex_date,
        from: Number(r.split_from),
        to: Number(r.split_to),
        source: r.source,
        firstSeenAt: r.first_seen_at
      }
    : {
        kind: "dividend",
        symbol: r.symbol,
        exDate: r.ex_date,
        amount: Number(r.amount),
        currency: r.currency ?? "USD",
        ...(r.record_date === null ? {} : { recordDate: r.record_date }),
        ...(r.pay_date === null ? {} : { payDate: r.pay_date }),
        special: r.special === true || r.special === 1,
        source: r.source,
        firstSeenAt: r.first_seen_at
      }

/** The stored columns of an action. */
const columnsOf = (a: CorporateAction) =>
  a.kind === "split"
    ? {
        split_from: a.from,
        split_to: a.to,
        amount: null,
        currency: null,
        record_date: null,
        pay_date: null,
        special: null
      }
    : {
        split_from: null,
        split_to: null,
        amount: a.amount,
        currency: a.currency,
        record_date: a.recordDate ?? null,
        pay_date: a.payDate ?? null,
        special: a.special
      }

const sameValues = (a: CorporateAction, b: CorporateAction): boolean =>
  JSON.stringify(columnsOf(a)) === JSON.stringify(columnsOf(b))

/** The splits among stored actions, by symbol: one per ex-date, as adjusted reads count them (`distinctActions`). */
export function splitsBySymbol(actions: ReadonlyArray<StoredAction>): (symbol: string) => ReadonlyArray<SplitAction> {
  const by = new Map<string, Array<SplitAction>>()
  for (const a of distinctActions(actions)) if (a.kind === "split") by.set(a.symbol, [...(by.get(a.symbol) ?? []), a])
  return (symbol) => by.get(symbol) ?? []
}

export interface CorporateActionsShape {
  /** Records what `source` lists now: new actions are added with this time as first seen, changed ones updated. */
  readonly record: (
    source: string,
    actions: ReadonlyArray<CorporateAction>
  ) => Effect.Effect<ActionsRecorded, RepositoryError>
  /** The actions of `symbols` (every symbol when empty), first seen at or before `asOf` (ISO) when given. */
  readonly list: (
    symbols: ReadonlyArray<string>,
    asOf?: string
  ) => Effect.Effect<ReadonlyArray<StoredAction>, RepositoryError>
}

export class CorporateActions extends Context.Service<CorporateActions, CorporateActionsShape>()(
  "marketpipe/CorporateActions"
) {}

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName
  const list: Raw<CorporateActionsShape>["list"] = (symbols, asOf) =>
    Effect.gen(function* () {
      const out: Array<StoredAction> = []
      const parts = symbols.length === 0 ? [undefined] : chunks(symbols, ROWS_PER_STATEMENT)
      for (const part of parts) {
        const found = yield* Effect.flatMap(
          sql`SELECT * FROM corporate_actions WHERE 1 = 1
            ${part === undefined ? sql`` : sql`AND symbol IN ${sql.in(part)}`}
            ${asOf === undefined ? sql`` : sql`AND first_seen_at <= ${asOf}`}
            ORDER BY symbol, ex_date, kind, source`,
          rows
        )
        out.push(...found.map(toAction))
      }
      return out
    })
  const raw: Raw<CorporateActionsShape> = {
    list,
    record: (source, actions) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          const symbols = [...new Set(actions.map((a) => a.symbol as string))]
          const known = new Map(
            (yield* list(symbols))
              .filter((a) => a.source === source)
              .map((a) => [`${a.symbol}|${a.kind}|${a.exDate}`, a])
          )
          let [added, changed, unchanged] = [0, 0, 0]
          for (const a of actions) {
            const before = known.get(`${a.symbol}|${a.kind}|${a.exDate}`)
            if (before !== undefined && sameValues(before, a)) {
              unchanged++
              yield* sql`UPDATE corporate_actions SET last_seen_at = ${at} WHERE source = ${source}
                AND symbol = ${a.symbol} AND kind = ${a.kind} AND ex_date = ${a.exDate}`
              continue
            }
            if (before === undefined) added++
            else changed++
            yield* sql`INSERT INTO corporate_actions ${sql.insert({
              source,
              symbol: a.symbol,
              kind: a.kind,
              ex_date: a.exDate,
              ...columnsOf(a),
              first_seen_at: at,
              last_seen_at: at
            })} ON CONFLICT (source, symbol, kind, ex_date) DO UPDATE SET split_from = excluded.split_from,
              split_to = excluded.split_to, amount = excluded.amount, currency = excluded.currency,
              record_date = excluded.record_date, pay_date = excluded.pay_date, special = excluded.special,
              last_seen_at = excluded.last_seen_at`
          }
          return { added, changed, unchanged }
        })
      )
  }
  return CorporateActions.of(finish(database, raw))
})

export const layer = Layer.effect(CorporateActions, make)
