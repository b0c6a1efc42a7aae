/**
 * The repository check: the SQLite file or PostgreSQL database a run would open is reachable, and how far it is
 * migrated against this build's migrations. It only reads: a database that does not exist is not created (a run
 * creates it), and pending migrations are reported, not run (the next run runs them).
 */
import { existsSync } from "node:fs"
import { DatabaseSync } from "node:sqlite"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { type Migrator, SqlError } from "effect/sql"
import { maskedUrl, sqlitePath } from "../config/database-url.ts"
import { postgresMigrations } from "../repository/postgres/migrations.ts"
import { sqliteMigrations } from "../repository/sqlite/migrations.ts"
import { type CheckResult, fail, pass, warn } from "./check.ts"

const NAME = "repository"

/** The table `effect/sql`'s migrator records applied migrations in (`repository/sqlite/migrations.ts`, `repository/postgres/migrations.ts`). */
const MIGRATIONS_TABLE = "schema_migrations"

/** How long the doctor waits for PostgreSQL to answer before calling it unreachable. */
const CONNECT_TIMEOUT = "5 seconds"

/** The newest migration id of a set. */
const latestOf = (loader: Migrator.Loader) =>
  Effect.map(loader, (migrations) => Math.max(0, ...migrations.map(([id]) => id)))

/** The verdict on a database at migration `current` when this build's newest is `latest`. */
export function migrationVerdict(database: string, current: number, latest: number): CheckResult {
  if (current === latest) return pass(NAME, `${database} reachable, migrated to the latest (${current} of ${latest})`)
  if (current < latest) {
    return warn(
      NAME,
      `${database} reachable, at migration ${current} of ${latest}: the next run migrates it (a run that writes does so first)`
    )
  }
  return warn(
    NAME,
    `${database} is at migration ${current}, newer than this build knows (${latest}): a newer MarketPipe wrote it; upgrade this one`
  )
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** A driver error with what lies under it (`PgConnection: Failed to connect (connect ECONNREFUSED …)`). */
const withCause = (e: unknown): string => {
  const cause = SqlError.isSqlError(e) ? e.reason.cause : undefined
  return cause instanceof Error ? `${messageOf(e)} (${cause.message})` : messageOf(e)
}

/** The newest migration a SQLite file records (0 when it has none), read over a connection that writes nothing. */
const sqliteMigration = (path: string) =>
  Effect.try({
    try: () => {
      // Read-write, not `readOnly`: a read-only connection to a WAL database leaves its -wal and -shm files behind.
      const db = new DatabaseSync(path)
      try {
        db.exec("PRAGMA busy_timeout = 2000")
        const table = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
          .get(MIGRATIONS_TABLE)
        if (table === undefined) return 0
        const row = db.prepare(`SELECT max(migration_id) AS id FROM ${MIGRATIONS_TABLE}`).get() as { id: number | null }
        return Number(row.id ?? 0)
      } finally {
        db.close()
      }
    },
    catch: (e) => `SQLite database ${path} cannot be read: ${messageOf(e)}`
  })

const sqliteCheck = (path: string) =>
  Effect.gen(function* () {
    if (path === ":memory:") return pass(NAME, "in-memory SQLite database (nothing is kept between runs)")
    const database = `SQLite database ${path}`
    if (!existsSync(path)) return warn(NAME, `${database} does not exist yet: it will be created on first run`)
    const current = yield* sqliteMigration(path)
    return migrationVerdict(database, current, yield* latestOf(sqliteMigrations))
  })

/** The newest migration a PostgreSQL database records, over a connection of its own that is closed afterwards. */
const postgresMigration = (url: string) =>
  Effect.gen(function* () {
    const sql = yield* PgClient.make({
      url: Redacted.make(url),
      connectTimeout: CONNECT_TIMEOUT,
      applicationName: "marketpipe doctor"
    })
    const [table] = yield* sql<{ present: boolean }>`SELECT to_regclass(${MIGRATIONS_TABLE}) IS NOT NULL AS present`
    if (table?.present !== true) return 0
    const [row] = yield* sql<{ id: number | null }>`SELECT max(migration_id) AS id FROM ${sql(MIGRATIONS_TABLE)}`
    return Number(row?.id ?? 0)
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))

const postgresCheck = (url: string) =>
  Effect.gen(function* () {
    const database = `PostgreSQL at ${maskedUrl(url)}`
    const current = yield* postgresMigration(url).pipe(
      Effect.timeout(CONNECT_TIMEOUT),
      // The driver's messages may quote the URL, password and all.
      Effect.mapError((e) => `${database} is unreachable: ${withCause(e).split(url).join(maskedUrl(url))}`)
    )
    return migrationVerdict(database, current, yield* latestOf(postgresMigrations))
  })

/** The repository a run would open, by its URL: reachable and migrated, without creating or migrating anything. */
export const repositoryCheck = (databaseUrl: string): Effect.Effect<CheckResult> =>
  (databaseUrl.startsWith("sqlite:") ? sqliteCheck(sqlitePath(databaseUrl)) : postgresCheck(databaseUrl)).pipe(
    Effect.catch((e) => Effect.succeed(fail(NAME, typeof e === "string" ? e : e.message)))
  )
