/**
 * A full disk: the error names the file that could not be written, and the ledger never claims a bar the lake does
 * not hold. The real case mounts a small tmpfs (needs root, as CI runs); SQLite's own limit gives the same error
 * without one.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { Effect } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import { DatabaseName } from "../../src/repository/internal/database.ts"
import * as JobsSql from "../../src/repository/jobs.ts"
import * as SqliteClient from "../../src/repository/sqlite/client.ts"
import { migrateSqlite } from "../../src/repository/sqlite/migrations.ts"
import { runSource } from "../support/cli.ts"
import { removeDir, tempDir, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-full-")

const mounted: Array<string> = []
afterAll(() => {
  for (const dir of mounted) {
    spawnSync("umount", [dir])
    removeDir(dir)
  }
})

/** A directory on a tmpfs of `size` (e.g. "3m"); `undefined` where mounting is not allowed. */
function smallDisk(size: string): string | undefined {
  const dir = tempDir("mp-disk-")
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])
  if (r.status !== 0) return undefined
  mounted.push(dir)
  return dir
}

const canMount = process.getuid?.() === 0

describe("a full disk", () => {
  test("SQLite's 'database or disk is full' names the database file", async () => {
    const path = join(fresh(), "marketpipe.db")
    const failure = await Effect.runPromise(
      Effect.gen(function* () {
        const client = yield* SqliteClient.make(path)
        yield* migrateSqlite.pipe(Effect.provideService(SqlClient.SqlClient, client))
        const pages = (yield* client.unsafe<{ page_count: number }>("PRAGMA page_count"))[0]?.page_count ?? 0
        // The file may not grow past what it has: the next page it needs is "disk full" to SQLite.
        yield* client.unsafe(`PRAGMA max_page_count = ${pages + 1}`)
        const jobs = yield* JobsSql.make.pipe(
          Effect.provideService(SqlClient.SqlClient, client),
          Effect.provideService(DatabaseName, `SQLite database ${path}`)
        )
        const days = Array.from({ length: 5000 }, (_, i) => ({ frame: "1m", symbol: `S${i}`, day: "2024-03-04" }))
        return yield* Effect.flip(
          jobs.create(
            {
              kind: "ingest",
              provider: "fake",
              feed: "synthetic",
              frame: "1m",
              session: "regular",
              symbols: ["AAPL"],
              startDay: "2024-03-04",
              endDay: "2024-03-04"
            },
            days
          )
        )
      }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
    )
    expect(failure.message).toBe(`repository: SQLite database ${path}: database or disk is full`)
  })

  test.skipIf(!canMount)(
    "an ingest onto a full disk fails naming the path, and every ledger claim is in the lake",
    () => {
      const disk = smallDisk("3m")
      expect(disk).toBeDefined()
      const cwd = disk as string
      const symbols = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, "0")}`).join(",")
      const r = runSource(
        ["ohlcv", "ingest", "--provider", "fake", "--symbols", symbols, "--start", "2024-03-01", "--end", "2024-03-28"],
        { cwd }
      )
      expect(r.code, r.stderr).not.toBe(0)
      // Whichever write hit the full disk, the message says where.
      expect(`${r.stdout}\n${r.stderr}`).toMatch(
        new RegExp(`(${cwd.replaceAll("/", "\\/")}[^ ]*|ohlcv/[^ ]+): .*(ENOSPC|no space|disk is full)`, "iu")
      )
      // The operator makes room (SQLite's shared-memory file cannot grow on a disk with none), then checks the ledger.
      expect(spawnSync("mount", ["-o", "remount,size=64m", cwd]).status).toBe(0)
      const verify = runSource(["ledger", "verify"], { cwd })
      expect(verify.stderr).toBe("")
      expect(verify.code).toBe(0)
      expect(verify.stdout).toMatch(/claim\(s\) in \d+ file\(s\): (\d+) backed by the lake, 0 not/u)
    }
  )
})
