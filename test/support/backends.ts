/**
 * The repository's two backends for a suite that runs once on each: SQLite on a file under `dir`, and a fresh
 * database on the Postgres the harness starts (`postgres.ts`). Call `useBackends` at the top of the file.
 */
import { afterAll, beforeAll } from "bun:test"
import { join } from "node:path"
import type { Layer } from "effect"
import type { RepositoryError } from "../../src/domain/errors.ts"
import { postgresLayer, type Repository, sqliteLayer } from "../../src/repository/layer.ts"
import { startPostgres, type TestPostgres } from "./postgres.ts"

export type Backend = readonly [name: string, layer: () => Promise<Layer.Layer<Repository, RepositoryError>>]

export function useBackends(dir: string, file = "mp.db"): ReadonlyArray<Backend> {
  let postgres: TestPostgres | undefined
  beforeAll(async () => {
    postgres = await startPostgres()
  }, 60_000)
  afterAll(() => postgres?.stop())
  return [
    ["SQLite", async () => sqliteLayer(join(dir, file))],
    ["PostgreSQL", async () => postgresLayer(await (postgres as TestPostgres).newDatabase())]
  ]
}
