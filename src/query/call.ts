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
    // A synchronous throw from `f` becomes a rejection, so both kinds of failure take one path.
    const settled = new Promise<A>((ok) => ok(f())).then(
      (a) => resume(Effect.succeed(a)),
      (e) => resume(Effect.fail(onError(e)))
    )
    // An interrupt that arrives before DuckDB has started the query is lost, so it is repeated until the call ends.
    return Effect.promise(() => {
      connection.interrupt()
      const repeat = setInterval(() => connection.interrupt(), 25)
      return settled.finally(() => clearInterval(repeat))
    })
  })
