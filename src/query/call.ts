/**
 * Every DuckDB call on a lake session goes through `duckCall`. Interrupting the fiber interrupts the query and then
 * waits until DuckDB has let go of it. `Effect.tryPromise` would not wait: the scope would close the connection
 * while DuckDB's worker thread is still unwinding the query, the last reference to the client context would then
 * drop on that thread, whose destructor waits for the context lock the same thread holds. The call never settles
 * and its pending work keeps the process alive after the fiber has ended (the first Ctrl-C "did nothing").
 */
import type { DuckDBConnection } from "@duckdb/node-api"
import { Effect } from "effect"

export const duckCall = <A, E>(
  connection: DuckDBConnection,
  f: () => Promise<A>,
  onError: (e: unknown) => E
): Effect.Effect<A, E> =>
  Effect.callback<A, E>((resume) => {
    let running: Promise<A>
    try {
      running = f()
    } catch (e) {
      resume(Effect.fail(onError(e)))
      return
    }
    const settled = running.then(
      (a) => resume(Effect.succeed(a)),
      (e) => resume(Effect.fail(onError(e)))
    )
    return Effect.promise(() => {
      connection.interrupt()
      return settled
    })
  })
