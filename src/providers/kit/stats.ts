/**
 * Provider metrics hooks: requests, errors by status class, latency and rate-limit waits, labelled by provider and
 * feed. The observability layer reads these totals; tests read them to count requests.
 */
export interface ProviderCallStats {
  requests: number
  errors: Record<string, number>
  retries: number
  latencyMsTotal: number
  rateLimitWaits: number
  rateLimitWaitMsTotal: number
}

const table = new Map<string, ProviderCallStats>()

export function statsFor(provider: string, feed: string): ProviderCallStats {
  const id = `${provider}|${feed}`
  let s = table.get(id)
  if (s === undefined) {
    s = { requests: 0, errors: {}, retries: 0, latencyMsTotal: 0, rateLimitWaits: 0, rateLimitWaitMsTotal: 0 }
    table.set(id, s)
  }
  return s
}

export const allProviderStats = (): ReadonlyArray<{ provider: string; feed: string; stats: ProviderCallStats }> =>
  [...table].map(([id, stats]) => {
    const [provider = "", feed = ""] = id.split("|")
    return { provider, feed, stats }
  })

export const statusClass = (status: number | "transport" | "timeout" | "body"): string =>
  typeof status === "number" ? `${Math.floor(status / 100)}xx` : status
