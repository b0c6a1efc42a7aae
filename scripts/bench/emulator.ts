#!/usr/bin/env bun
/**
 * The provider emulator as its own process, for the HTTP benchmarks: `bun scripts/bench/emulator.ts [--page-cache]
 * [--rate-limit alpaca=200/60]`. Prints one JSON line `{"url": …}` once it listens (on a free port) and stops on
 * SIGTERM.
 *
 * `--page-cache` keeps every page answered 200 as its JSON text, keyed by method, path, query and the request's
 * credentials, and serves that text to the same request again. The emulator renders a page by regenerating the
 * symbols' minutes and serialising ~1 MB of JSON, which costs about as much as the client's decoding of it; a
 * benchmark warms the cache with one untimed pass so its timed passes measure MarketPipe, not the emulator. Rate
 * limits, faults and stats stay the server's: they run before a route is asked for its answer.
 */
import { parseArgs } from "node:util"
import { allRoutes } from "../../test/emulators/routes.ts"
import { startEmulator } from "../../test/emulators/server.ts"
import {
  type EmulatorRequest,
  type EmulatorResponse,
  type ProviderRoutes,
  parseRateLimits
} from "../../test/emulators/types.ts"

const { values } = parseArgs({
  options: {
    "page-cache": { type: "boolean", default: false },
    "rate-limit": { type: "string", multiple: true }
  }
})

// Headers that differ between identical requests of one client, or say nothing about the answer.
const ignoredHeaders = new Set(["host", "connection", "user-agent", "accept-encoding", "traceparent", "tracestate"])

const requestKey = (req: EmulatorRequest): string =>
  JSON.stringify([
    req.method,
    req.path,
    req.query.toString(),
    Object.entries(req.headers)
      .filter(([name]) => !ignoredHeaders.has(name))
      .sort(([a], [b]) => (a < b ? -1 : 1))
  ])

const cached = (route: ProviderRoutes): ProviderRoutes => {
  const pages = new Map<string, EmulatorResponse>()
  return {
    ...route,
    handle: (req, ctx) => {
      const key = requestKey(req)
      const hit = pages.get(key)
      if (hit !== undefined) return hit
      const answer = route.handle(req, ctx)
      if (answer.status !== 200 || typeof answer.body === "string") return answer
      // A string body is sent as it is; the content type has to be said again, as the server calls strings text.
      const page: EmulatorResponse = {
        status: 200,
        headers: { "content-type": "application/json; charset=utf-8", ...answer.headers },
        body: JSON.stringify(answer.body)
      }
      pages.set(key, page)
      return page
    }
  }
}

const rateLimits = parseRateLimits(values["rate-limit"] ?? [])

const emulator = await startEmulator({
  port: 0,
  rateLimits,
  routes: values["page-cache"] ? allRoutes.map(cached) : allRoutes
})
console.log(JSON.stringify({ url: emulator.url }))
process.once("SIGTERM", () => void emulator.stop().then(() => process.exit(0)))
