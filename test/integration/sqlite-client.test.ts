import { afterEach, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { Effect } from "effect"
import { Reactivity } from "effect/reactivity"
import * as SqliteClient from "../../src/repository/sqlite/client.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let dir = ""
afterEach(() => removeDir(dir))

const withClient = <A>(
  body: (client: Effect.Success<ReturnType<typeof SqliteClient.make>>) => Effect.Effect<A, unknown>
) => {
  dir = tempDir("mp-sqlite-")
  return Effect.runPromise(
    Effect.scoped(Effect.flatMap(SqliteClient.make(join(dir, "t.db")), body)).pipe(Effect.provide(Reactivity.layer))
  )
}

describe("the SQLite client's prepared statements", () => {
  test("one statement text answers as objects and as arrays, each as asked, however often it runs", async () => {
    const got = await withClient((client) =>
      Effect.gen(function* () {
        yield* client.unsafe("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        yield* client.unsafe("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
        const text = "SELECT k, v FROM t WHERE k >= ? ORDER BY k"
        const objects = yield* client.unsafe(text, [1])
        const arrays = yield* client.unsafe(text, [1]).values
        const again = yield* client.unsafe(text, [2])
        return { objects, arrays, again }
      })
    )
    expect(got.objects).toEqual([
      { k: 1, v: "one" },
      { k: 2, v: "two" }
    ])
    expect(got.arrays).toEqual([
      [1, "one"],
      [2, "two"]
    ])
    expect(got.again).toEqual([{ k: 2, v: "two" }])
  })

  test("past the cache's size the oldest statements are prepared again and still answer right", async () => {
    const answers = await withClient((client) =>
      Effect.gen(function* () {
        const out: Array<unknown> = []
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < 300; i++) out.push((yield* client.unsafe(`SELECT ? + ${i} AS n`, [round]))[0])
        }
        return out
      })
    )
    expect(answers).toEqual([0, 1].flatMap((round) => Array.from({ length: 300 }, (_, i) => ({ n: round + i }))))
  })

  test("a statement that failed runs again, and a rolled-back transaction leaves nothing behind", async () => {
    const rows = await withClient((client) =>
      Effect.gen(function* () {
        yield* client.unsafe("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        const insert = (k: number) => client.unsafe("INSERT INTO t VALUES (?)", [k])
        yield* insert(1)
        const duplicate = yield* Effect.flip(insert(1))
        expect(String(duplicate)).toMatch(/UNIQUE|constraint/iu)
        yield* insert(2)
        yield* Effect.flip(client.withTransaction(Effect.andThen(insert(3), insert(1))))
        return yield* client.unsafe("SELECT k FROM t ORDER BY k").values
      })
    )
    expect(rows).toEqual([[1], [2]])
  })
})
