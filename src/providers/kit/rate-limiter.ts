/**
 * Token buckets, one per provider key, shared by every client that uses that key and the same `RateLimiters`. A
 * bucket holds the documented burst (`requests`) and refills evenly over `perSeconds`; the server's own signals
 * (`X-Ratelimit-Remaining: 0` with `X-Ratelimit-Reset`, or `Retry-After`) pause the bucket until the given time.
 * `RateLimiters` is a service: the CLI builds one per run, so its clients on one key share a quota; each test gets
 * its own, so no pause or spent burst leaks from one test into the next.
 */
import { Context, Layer } from "effect"
import type { RateLimit } from "../contract.ts"

export interface TokenBucket {
  /** Takes one token and returns how long (ms) the caller must wait before using it. */
  readonly reserve: (nowMs: number) => number
  /** No request may start before `untilMs`. */
  readonly pauseUntil: (untilMs: number) => void
}

export function makeTokenBucket(limit: RateLimit): TokenBucket {
  // GCRA, the token bucket written as one timestamp: `tat` is when the bucket would be full again; a request may go
  // as long as it is at most `burst` intervals ahead. Idle time refills the burst, and a pause keeps it.
  const intervalMs = (limit.perSeconds * 1000) / limit.requests
  const toleranceMs = (limit.requests - 1) * intervalMs
  let tat = Number.NEGATIVE_INFINITY
  let pausedUntil = 0
  return {
    reserve: (now) => {
      const start = Math.max(now, pausedUntil)
      const base = Math.max(tat, start)
      const at = Math.max(start, base - toleranceMs)
      tat = base + intervalMs
      return at - now
    },
    pauseUntil: (until) => {
      pausedUntil = Math.max(pausedUntil, until)
    }
  }
}

export interface RateLimitersShape {
  /** The bucket for one provider key (keys are told apart by a fingerprint, never stored in clear). */
  readonly bucketFor: (provider: string, keyFingerprint: string, limit: RateLimit | null) => TokenBucket | undefined
}

export function makeRateLimiters(): RateLimitersShape {
  const buckets = new Map<string, TokenBucket>()
  return {
    bucketFor: (provider, keyFingerprint, limit) => {
      if (limit === null) return undefined
      const id = `${provider}|${keyFingerprint}|${limit.requests}/${limit.perSeconds}`
      let bucket = buckets.get(id)
      if (bucket === undefined) {
        bucket = makeTokenBucket(limit)
        buckets.set(id, bucket)
      }
      return bucket
    }
  }
}

export class RateLimiters extends Context.Service<RateLimiters, RateLimitersShape>()("marketpipe/RateLimiters") {
  /** A new set of buckets each time the layer is built: whoever provides it decides who shares a quota. */
  static readonly layer = Layer.sync(RateLimiters, makeRateLimiters)
}
