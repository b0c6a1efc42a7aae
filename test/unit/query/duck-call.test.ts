import { describe, expect, test } from "bun:test"
import { Effect, Fiber } from "effect"
import { duckCall } from "../../../src/query/call.ts"
import { loadDuckDB } from "../../../src/query/duckdb.ts"

type DuckDBConnection = import("@duckdb/node-api").DuckDBConnection

const withConnection = async <A>(f: (c: DuckDBConnection) => Promise<A>) => {
  const duck = await Effect.runPromise(loadDuckDB())
  const instance = await duck.DuckDBInstance.create(":memory:", { threads: "1" })
  const connection = await instance.connect()
  try {
    return await f(connection)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

describe("duckCall", () => {
  test("interrupting a running query stops it, and the connection still answers the next one", async () => {
    await withConnection(async (connection) => {
      // A cross join of 10^12 rows: it would run for hours unless an interrupt reaches DuckDB. The query is only
      // sent once the first interrupt has been issued, as when Ctrl-C lands before DuckDB has started the query.
      let sent!: () => void
      const firstInterrupt = new Promise<void>((resolve) => {
        sent = resolve
      })
      const watched: DuckDBConnection = Object.create(connection)
      watched.interrupt = () => {
        connection.interrupt()
        sent()
      }
      const endless = duckCall(
        watched,
        async () => {
          await firstInterrupt
          return connection.run("select count(*) from range(1000000) a, range(1000000) b where a.range + b.range < 0")
        },
        (e) => String(e)
      )
      const outcome = await Effect.runPromise(
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(endless)
          yield* Fiber.interrupt(fiber)
          return yield* Fiber.await(fiber)
        })
      )
      expect(outcome._tag).toBe("Failure")
      const after = await Effect.runPromise(
        duckCall(
          connection,
          async () => (await connection.runAndReadAll("select 41 + 1 as answer")).getRowObjects(),
          (e) => String(e)
        )
      )
      expect(after).toEqual([{ answer: 42 }])
    })
  })

  test("a call that throws before it returns a promise fails with the mapped error", async () => {
    await withConnection(async (connection) => {
      const failed = await Effect.runPromise(
        Effect.flip(
          duckCall(
            connection,
            () => {
              throw new Error("no statement")
            },
            (e) => `mapped: ${(e as Error).message}`
          )
        )
      )
      expect(failed).toBe("mapped: no statement")
    })
  })
})
