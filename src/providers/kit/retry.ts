/**
 * The one retry policy for provider calls. The kit's HTTP client retries each request with it, and the ingest retries
 * a whole unit with it when a plugin fails with a retryable error. Delays grow exponentially (doubling from
 * `baseMs`), each scaled by a jitter factor drawn from Effect's `Random` (so a seeded `Random` repeats them exactly);
 * a failure that carries a server-named wait (`Retry-After`, `X-Ratelimit-Reset`) waits that long instead.
 */
import { Duration, Effect, Random, Schedule } from "effect"

export interface Jitter {
  readonly min: number
  readonly max: number
}

/** The kit's spread: a delay lands anywhere from half to one and a half times the backoff. */
export const httpJitter: Jitter = { min: 0.5, max: 1.5 }

export interface RetryOptions {
  /** The first delay; it doubles per retry. */
  readonly baseMs: number
  /** Retries after the first try (tries = retries + 1). */
  readonly retries: number
  readonly jitter?: Jitter
}

/** A failure that names when to try again, in ms from now. */
export interface ServerNamedWait {
  readonly waitMs?: number | undefined
}

const serverWaitOf = (failure: unknown): number | undefined => {
  if (typeof failure !== "object" || failure === null) return undefined
  const wait = (failure as ServerNamedWait).waitMs
  return typeof wait === "number" ? wait : undefined
}

export const retrySchedule = (options: RetryOptions): Schedule.Schedule<Duration.Duration, unknown> => {
  const { min, max } = options.jitter ?? httpJitter
  return Schedule.exponential(Duration.millis(options.baseMs), 2).pipe(
    Schedule.upTo({ times: options.retries }),
    Schedule.modifyDelay(({ duration, input }) => {
      // A server-named wait already paused the whole key; a backoff delays only this caller.
      const named = serverWaitOf(input)
      if (named !== undefined) return Effect.succeed(Duration.millis(named))
      return Effect.map(Random.next, (r) => Duration.millis(Duration.toMillis(duration) * (min + (max - min) * r)))
    })
  )
}
