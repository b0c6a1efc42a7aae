/**
 * The `Universes` service: named symbol lists with what made them (an imported file, a filter as of a date) and
 * each member's metadata as it was then. Saving a universe replaces it whole, in one transaction.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { RepositoryError } from "../domain/errors.ts"
import type { SymbolMeta } from "../domain/symbol-meta.ts"
import { Count, Instant, Json, OptionalText } from "./internal/columns.ts"
import { chunks, DatabaseName, decodeRows, finish, type Raw } from "./internal/database.ts"
import { nonEmpty, nowIso, ROWS_PER_STATEMENT } from "./internal/statements.ts"
import { StoredMeta } from "./internal/stored-meta.ts"

export interface UniverseSpec {
  readonly name: string
  /** What made it: `import <file>`, `filters <file>`. */
  readonly source: string
  /** The filters it was built with, as data (JSON). */
  readonly filters?: unknown
  /** The date its metadata describes, `YYYY-MM-DD`. */
  readonly asOf?: string
  readonly members: ReadonlyArray<SymbolMeta>
}

export const UniverseSummary = Schema.Struct({
  name: Schema.String,
  source: Schema.String,
  asOf: OptionalText,
  createdAt: Instant,
  members: Count
}).pipe(Schema.encodeKeys({ asOf: "as_of", createdAt: "created_at" }))
export type UniverseSummary = typeof UniverseSummary.Type

const UniverseRow = Schema.Struct({
  name: Schema.String,
  source: Schema.String,
  filters: Schema.NullOr(Schema.String),
  asOf: OptionalText,
  createdAt: Instant,
  members: Count
}).pipe(Schema.encodeKeys({ asOf: "as_of", createdAt: "created_at" }))

const MemberRow = Schema.Struct({ meta: Json(StoredMeta) })

export interface StoredUniverse extends UniverseSummary {
  readonly filters: unknown
  readonly memberList: ReadonlyArray<SymbolMeta>
}

export interface UniversesShape {
  readonly save: (universe: UniverseSpec) => Effect.Effect<UniverseSummary, RepositoryError>
  readonly get: (name: string) => Effect.Effect<StoredUniverse | undefined, RepositoryError>
  /** Every universe, by name. */
  readonly list: () => Effect.Effect<ReadonlyArray<UniverseSummary>, RepositoryError>
}

export class Universes extends Context.Service<Universes, UniversesShape>()("marketpipe/Universes") {}

const summaries = decodeRows(UniverseSummary)
const universeRows = decodeRows(UniverseRow)
const memberRows = decodeRows(MemberRow)

export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const database = yield* DatabaseName

  const raw: Raw<UniversesShape> = {
    save: (u) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const at = yield* nowIso
          yield* sql`DELETE FROM universe_members WHERE name = ${u.name}`
          yield* sql`DELETE FROM universes WHERE name = ${u.name}`
          yield* sql`INSERT INTO universes ${sql.insert({
            name: u.name,
            source: u.source,
            filters: u.filters === undefined ? null : JSON.stringify(u.filters),
            as_of: u.asOf ?? null,
            created_at: at,
            members: u.members.length
          })}`
          const rows = u.members.map((m, position) => ({
            name: u.name,
            position,
            symbol: m.symbol as string,
            meta: JSON.stringify(m)
          }))
          for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
            const batch = nonEmpty(part)
            if (batch !== undefined) yield* sql`INSERT INTO universe_members ${sql.insert(batch)}`
          }
          return {
            name: u.name,
            source: u.source,
            ...(u.asOf === undefined ? {} : { asOf: u.asOf }),
            createdAt: at,
            members: rows.length
          }
        })
      ),

    get: (name) =>
      Effect.gen(function* () {
        const [row] = yield* Effect.flatMap(sql`SELECT * FROM universes WHERE name = ${name}`, universeRows)
        if (row === undefined) return undefined
        const members = yield* Effect.flatMap(
          sql`SELECT meta FROM universe_members WHERE name = ${name} ORDER BY position`,
          memberRows
        )
        const { filters, ...summary } = row
        return {
          ...summary,
          filters: filters === null ? undefined : JSON.parse(filters),
          memberList: members.map((m) => m.meta as SymbolMeta)
        }
      }),

    list: () =>
      Effect.flatMap(sql`SELECT name, source, as_of, created_at, members FROM universes ORDER BY name`, summaries)
  }
  return Universes.of(finish(database, raw))
})

export const layer = Layer.effect(Universes, make)
