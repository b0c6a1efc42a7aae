/**
 * Token buckets, one per provider key, shared by every client using that key in the process. A bucket holds the
 * documented burst (`requests`) and refills evenly over `perSeconds`; the server's own signals
 * (`X-Ratelimit-Remaining: 0` with `X-Ratelimit-Reset`, or `Retry-After`) pause the bucket until the given time.
 */
import type { RateLimit } from "../contract.ts"

export interface TokenBucket {
  /** Takes one token and returns how long (ms) the caller must wait before using it. */
  readonly reserve: (nowMs: number) => number
  /** No request may start before `untilMs`. */
  readonly pauseUntil: (untilMs: number) => void
}

export function makeTokenBucket(limit: RateLimit): TokenBucket {
  const intervalMs = (limit.perSeconds * 1000) / limit.requests
  let tokens = limit.requests
  let updatedAt: number | undefined
  let pausedUntil = 0
  // Time at which the next token is free once the bucket is empty (reservations queue up behind each other).
  let nextFree = 0
  return {
    reserve: (now) => {
      if (updatedAt === undefined) updatedAt = now
      tokens = Math.min(limit.requests, tokens + (now - updatedAt) / intervalMs)
      updatedAt = now
      const start = Math.max(now, pausedUntil)
      if (tokens >= 1 && start === now && nextFree <= now) {
        tokens -= 1
        return 0
      }
      const at = Math.max(start, nextFree, now + (1 - Math.max(tokens, 0)) * intervalMs)
      nextFree = at + intervalMs
      tokens = Math.min(tokens, 0)
      return at - now
    },
    pauseUntil: (until) => {
      pausedUntil = Math.max(pausedUntil, until)
    }
  }
}

const buckets = new Map<string, TokenBucket>()

/** The bucket for one provider key (keys are told apart by a fingerprint, never stored in clear). */
export function bucketFor(provider: string, keyFingerprint: string, limit: RateLimit | null): TokenBucket | undefined {
  if (limit === null) return undefined
  const id = `${provider}|${keyFingerprint}|${limit.requests}/${limit.perSeconds}`
  let bucket = buckets.get(id)
  if (bucket === undefined) {
    bucket = makeTokenBucket(limit)
    buckets.set(id, bucket)
  }
  return bucket
}
