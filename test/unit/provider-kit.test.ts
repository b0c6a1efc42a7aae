import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect, Fiber, Random, Schedule, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { makeMetrics } from "../../src/observability/metrics.ts"
import { makePluginHost } from "../../src/providers/host.ts"
import { denoPermissionRefusal, makeProviderHttp, serverWaitMs } from "../../src/providers/kit/http.ts"
import { makeRateLimiters, makeTokenBucket } from "../../src/providers/kit/rate-limiter.ts"
import { retrySchedule } from "../../src/providers/kit/retry.ts"
import { mask, registerSecret } from "../../src/providers/kit/secrets.ts"
import { parseIsoUtc } from "../../src/providers/kit/time.ts"
import { isBarTime, shownWire } from "../../src/providers/kit/wire-values.ts"
import { kitServices } from "../support/run-services.ts"

describe("token bucket", () => {
  test("allows the documented burst, then spaces requests evenly", () => {
    const bucket = makeTokenBucket({ requests: 3, perSeconds: 3 })
    expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0, 0])
    expect(bucket.reserve(0)).toBe(1000)
    expect(bucket.reserve(0)).toBe(2000)
    // After a quiet spell the bucket refills up to its burst, not beyond.
    expect(bucket.reserve(60_000)).toBe(0)
  })

  test("a server-named reset pauses every request until then", () => {
    const bucket = makeTokenBucket({ requests: 100, perSeconds: 1 })
    bucket.pauseUntil(5_000)
    expect(bucket.reserve(1_000)).toBe(4_000)
  })
})

describe("rate limiters", () => {
  test("one set shares a bucket per provider key; another set, as another run or test has, starts full", () => {
    const limit = { requests: 1, perSeconds: 10 }
    const run = makeRateLimiters()
    expect(run.bucketFor("p", "key-1", limit)?.reserve(0)).toBe(0)
    // A second client on the same key in the same run waits for the quota the first one spent.
    expect(run.bucketFor("p", "key-1", limit)?.reserve(0)).toBe(10_000)
    expect(run.bucketFor("p", "key-2", limit)?.reserve(0)).toBe(0)
    expect(run.bucketFor("q", "key-1", limit)?.reserve(0)).toBe(0)
    expect(makeRateLimiters().bucketFor("p", "key-1", limit)?.reserve(0)).toBe(0)
    expect(run.bucketFor("p", "key-1", null)).toBeUndefined()
  })
})

describe("retry schedule", () => {
  /** The delays the schedule gives for these failures, in ms, until it stops (`undefined` marks the stop). */
  const delays = (failures: ReadonlyArray<unknown>, options: Parameters<typeof retrySchedule>[0], seed: string) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const step = yield* Schedule.toStep(retrySchedule(options))
        const out: Array<number | undefined> = []
        for (const f of failures) {
          const next = yield* Effect.result(step(0, f))
          out.push(next._tag === "Success" ? Duration.toMillis(next.success[1]) : undefined)
        }
        return out
      }).pipe(Random.withSeed(seed))
    )

  test("doubles from the base within the jitter band, repeats exactly under one seed, and stops after its retries", async () => {
    const failures = ["a", "b", "c", "d"]
    const first = await delays(failures, { baseMs: 100, retries: 3 }, "s1")
    expect(await delays(failures, { baseMs: 100, retries: 3 }, "s1")).toEqual(first)
    expect(await delays(failures, { baseMs: 100, retries: 3 }, "s2")).not.toEqual(first)
    expect(first[3]).toBeUndefined()
    first.slice(0, 3).forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0.5 * 100 * 2 ** i)
      expect(ms).toBeLessThanOrEqual(1.5 * 100 * 2 ** i)
    })
    const narrow = await delays(failures, { baseMs: 100, retries: 3, jitter: { min: 0.8, max: 1.2 } }, "s1")
    narrow.slice(0, 3).forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0.8 * 100 * 2 ** i)
      expect(ms).toBeLessThanOrEqual(1.2 * 100 * 2 ** i)
    })
  })

  test("a failure naming a wait gets exactly that wait instead of the backoff", async () => {
    expect(await delays([{ waitMs: 7_000 }, { waitMs: 0 }, {}], { baseMs: 100, retries: 2 }, "s")).toEqual([
      7_000,
      0,
      undefined
    ])
  })
})

describe("server-named waits", () => {
  test("Retry-After in seconds or as a date, X-Ratelimit-Reset in Unix seconds, capped", () => {
    expect(serverWaitMs({ "retry-after": "3" }, 1_000)).toBe(3_000)
    expect(serverWaitMs({ "retry-after": "Thu, 01 Jan 1970 00:00:10 GMT" }, 4_000)).toBe(6_000)
    expect(serverWaitMs({ "x-ratelimit-reset": "100" }, 98_500)).toBe(1_500)
    expect(serverWaitMs({ "x-ratelimit-reset": "1" }, 5_000)).toBe(0)
    expect(serverWaitMs({ "retry-after": "999999" }, 0)).toBe(15 * 60_000)
    expect(serverWaitMs({}, 0)).toBeUndefined()
  })
})

describe("timestamps", () => {
  test("RFC 3339 UTC with Z, offsets and fractions; garbage is NaN", () => {
    expect(parseIsoUtc("2024-03-08T14:30:00Z")).toBe(Date.parse("2024-03-08T14:30:00Z"))
    expect(parseIsoUtc("2024-03-08T09:30:00-05:00")).toBe(Date.parse("2024-03-08T14:30:00Z"))
    expect(parseIsoUtc("2024-03-08T14:30:00+00:00")).toBe(Date.parse("2024-03-08T14:30:00Z"))
    expect(parseIsoUtc("2024-03-08T14:30:00.25Z")).toBe(Date.parse("2024-03-08T14:30:00.250Z"))
    expect(parseIsoUtc("2024-03-08T14:30:00.123456789Z")).toBe(Date.parse("2024-03-08T14:30:00.123Z"))
    for (const bad of ["", "2024-03-08", "2024-03-08 14:30:00Z", "2024-03-08T14:30:00", "2024-03-08T14:3x:00Z"]) {
      expect(parseIsoUtc(bad)).toBeNaN()
    }
  })
})

describe("timestamps against Date.UTC", () => {
  test("every form agrees on 20,000 seeded timestamps, dates interleaved so no day is read from the last call", () => {
    let seed = 12_345
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed % n
    }
    const pad = (v: number, n = 2) => String(v).padStart(n, "0")
    for (let i = 0; i < 20_000; i++) {
      const [y, mo, h, mi, sec, ms] = [1990 + next(111), 1 + next(12), next(24), next(60), next(60), next(1000)]
      const d = 1 + next(new Date(Date.UTC(y, mo, 0)).getUTCDate())
      const offset = next(3) === 0 ? 0 : (next(2) === 0 ? 1 : -1) * (next(14) * 60 + next(4) * 15)
      const utc = Date.UTC(y, mo - 1, d, h, mi, sec, ms)
      const local = new Date(utc + offset * 60_000)
      const wall = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`
      const zone =
        offset === 0 && next(2) === 0
          ? "Z"
          : `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
      expect(parseIsoUtc(`${wall}.${pad(ms, 3)}${zone}`)).toBe(utc)
      expect(parseIsoUtc(`${wall}${zone}`)).toBe(utc - ms)
    }
  })

  test("a day that does not exist is NaN even right after a real one of the same month", () => {
    expect(parseIsoUtc("2023-02-28T10:00:00Z")).toBe(Date.UTC(2023, 1, 28, 10))
    expect(parseIsoUtc("2023-02-29T10:00:00Z")).toBeNaN()
    expect(parseIsoUtc("2024-02-29T10:00:00Z")).toBe(Date.UTC(2024, 1, 29, 10))
    expect(parseIsoUtc("2024-02-29T10:00:00z")).toBeNaN()
    expect(parseIsoUtc("2024-02-29T10:00:00+5:00")).toBeNaN()
    expect(parseIsoUtc("2024-02-29T10:00:00.Z")).toBeNaN()
    expect(parseIsoUtc("2024-02-29T10:00:00ZZ")).toBeNaN()
  })
})

describe("secret masking", () => {
  test("registered secrets and credential query parameters never print", () => {
    registerSecret("sk-live-123456789")
    expect(mask("key sk-live-123456789 rejected")).toBe("key *** rejected")
    expect(mask("GET /x?apiKey=abcdefgh&limit=5&token=zzz")).toBe("GET /x?apiKey=***&limit=5&token=***")
  })
})

describe("HTTP kit", () => {
  let server: Server
  let url = ""
  const script: Array<(res: import("node:http").ServerResponse) => void> = []
  const seen: Array<string> = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? ""}`)
      const next = script.shift()
      if (next === undefined) {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ ok: true }))
      } else next(res)
    })
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())))

  const metrics = makeMetrics()
  const client = (extra: Partial<Parameters<typeof makeProviderHttp>[0]> = {}) =>
    makeProviderHttp(
      {
        provider: "kit-test",
        feed: "f",
        baseUrl: url,
        secrets: ["kit-secret-abcdef"],
        rateLimit: null,
        retryBaseMs: 1,
        headers: { authorization: "Bearer kit-secret-abcdef" },
        ...extra
      },
      kitServices(metrics)
    )

  test("retries 5xx, 429 and malformed bodies, then returns the JSON", async () => {
    seen.length = 0
    script.push(
      (res) => res.writeHead(503).end("busy"),
      (res) => res.writeHead(429, { "retry-after": "0" }).end("{}"),
      (res) => res.writeHead(200, { "content-type": "application/json" }).end('{"cut": '),
      (res) => res.writeHead(200, { "content-type": "application/json" }).end('{"bars": [1, 2]}')
    )
    const got = await Effect.runPromise(client().getJson("/v1/x", { a: 1, b: undefined, c: true }))
    expect(got.body).toEqual({ bars: [1, 2] })
    expect(seen.length).toBe(4)
    expect(seen[0]).toBe("/v1/x?a=1&c=true Bearer kit-secret-abcdef")
    const value = async (name: string, match: Record<string, string>) =>
      (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) =>
        Object.entries(match).every(([k, x]) => v.labels[k] === x)
      )?.value ?? 0
    // A registry of its own: exactly this call's tries (503, 429, cut body, then the answer).
    expect(await value("marketpipe_provider_retries_total", { provider: "kit-test" })).toBe(3)
    expect(await value("marketpipe_provider_errors_total", { provider: "kit-test", status_class: "5xx" })).toBe(1)
    expect(await value("marketpipe_provider_errors_total", { provider: "kit-test", status_class: "4xx" })).toBe(1)
    expect(await value("marketpipe_provider_errors_total", { provider: "kit-test", status_class: "body" })).toBe(1)
    expect(await value("marketpipe_provider_requests_total", { provider: "kit-test", status_class: "2xx" })).toBe(1)
  })

  test("getColumns: a cut-off page is fetched again; a page of another shape is decoded with the Schema instead", async () => {
    const spec = {
      path: ["bars", "*"],
      ts: { key: "t", as: "iso" as const },
      open: "o",
      high: "h",
      low: "l",
      close: "c",
      volume: "v",
      keep: ["next"]
    }
    const schema = Schema.Struct({ bars: Schema.Record(Schema.String, Schema.Array(Schema.Unknown)) })
    const good = '{"bars":{"AAPL":[{"t":"2024-03-04T14:30:00Z","o":1,"h":2,"l":0.5,"c":1.5,"v":10}]},"next":"p2"}'
    seen.length = 0
    script.push(
      (res) => res.writeHead(200, { "content-type": "application/json" }).end(good.slice(0, 40)),
      (res) => res.writeHead(200, { "content-type": "application/json" }).end(good),
      (res) =>
        res.writeHead(200, { "content-type": "application/json" }).end('{"bars":{"AAPL":[{"t":"x","o":"one"}]}}'),
      (res) => res.writeHead(200, { "content-type": "application/json" }).end('{"bars":"none"}')
    )
    const read = () => client().getColumns("/v2/bars", spec, schema, { what: "bars page" })
    const columns = await Effect.runPromise(read())
    expect(seen.length).toBe(2)
    expect(
      columns._tag === "Columns" && columns.groups.map((g) => [g.key, [...g.ts], [...g.close], [...g.vwap]])
    ).toEqual([["AAPL", [Date.parse("2024-03-04T14:30:00Z")], [1.5], [Number.NaN]]])
    expect(columns._tag === "Columns" && columns.kept).toEqual({ next: "p2" })
    expect(await Effect.runPromise(read())).toEqual({
      _tag: "Decoded",
      value: { bars: { AAPL: [{ t: "x", o: "one" }] } }
    })
    const refused = await Effect.runPromise(
      Effect.flip(client({ maxAttempts: 1 }).getColumns("/v2/bars", spec, schema, { what: "bars page" }))
    )
    expect(refused.reason).toMatch(/unexpected bars page: /u)
  })

  test("gives up after the last try with a clear, masked error", async () => {
    for (let i = 0; i < 3; i++)
      script.push((res) => res.writeHead(500).end('{"message":"key kit-secret-abcdef is bad"}'))
    const error = await Effect.runPromise(
      Effect.flip(client({ maxAttempts: 3 }).getJson("/v1/y?token=kit-secret-abcdef"))
    )
    expect(error.reason).toMatch(/gave up after 3 tries: HTTP 500: key \*\*\* is bad \(GET \/v1\/y\)/)
    expect(error.reason.includes("kit-secret-abcdef")).toBe(false)
  })

  test("client errors are not retried; explain() words them and can make them fatal", async () => {
    seen.length = 0
    script.push((res) => res.writeHead(403, { "content-type": "application/json" }).end('{"message":"forbidden."}'))
    const error = await Effect.runPromise(
      Effect.flip(
        client({
          explain: (status) => (status === 403 ? { reason: "check KIT_KEY", fatal: true } : undefined)
        }).getJson("/v1/z")
      )
    )
    expect(seen.length).toBe(1)
    expect(error).toMatchObject({ fatal: true, retryable: false })
    expect(error.reason).toMatch(/^check KIT_KEY/)
  })

  test("requests wait for rate-limit tokens on the injected clock", async () => {
    const program = Effect.gen(function* () {
      yield* TestClock.setTime(0)
      const limited = client({ rateLimit: { requests: 1, perSeconds: 10 }, secrets: ["another-key-123456"] })
      yield* limited.getJson("/v1/a")
      const second = yield* Effect.forkChild(limited.getJson("/v1/b"))
      yield* TestClock.adjust("5 seconds")
      const before = seen.length
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(second)
      return before
    })
    seen.length = 0
    const before = await Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))
    expect(before).toBe(1)
    expect(seen.length).toBe(2)
  })

  test("two clients on one key made from the same services pace against one quota", async () => {
    const services = kitServices()
    const make = () =>
      makeProviderHttp(
        {
          provider: "kit-shared",
          feed: "f",
          baseUrl: url,
          secrets: ["shared-key-123456"],
          rateLimit: { requests: 1, perSeconds: 10 }
        },
        services
      )
    const program = Effect.gen(function* () {
      yield* TestClock.setTime(0)
      yield* make().getJson("/v1/first")
      const second = yield* Effect.forkChild(make().getJson("/v1/second"))
      yield* TestClock.adjust("9 seconds")
      const before = seen.length
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(second)
      return before
    })
    seen.length = 0
    expect(await Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))).toBe(1)
    expect(seen.length).toBe(2)
  })
})

/** What Deno 2 throws from `fetch` when `--allow-net` does not cover the host (Deno 1: `PermissionDenied`). */
class NotCapable extends Error {
  override readonly name: string
  constructor(message: string, name = "NotCapable") {
    super(message)
    this.name = name
  }
}
const netRefusal = (host: string, name?: string) =>
  new NotCapable(`Requires net access to "${host}", run again with the --allow-net flag`, name)

describe("Deno permission refusals", () => {
  test("are recognised through Effect's TransportError wrapping, under either error name", () => {
    // The shape FetchHttpClient gives under Deno: HttpClientError { reason: TransportError { cause: NotCapable } }
    const wrapped = { _tag: "HttpClientError", reason: { _tag: "TransportError", cause: netRefusal("a.example:443") } }
    expect(denoPermissionRefusal(wrapped)).toBe(
      "Deno refused network access to a.example:443: run with --allow-net=a.example:443 (deno task ingest|backfill|marketpipe grants the configured providers' hosts; MARKETPIPE_DENO_ALLOW_NET adds others)"
    )
    expect(denoPermissionRefusal(netRefusal("[::1]:8080", "PermissionDenied"))).toMatch(
      /^Deno refused network access to \[::1\]:8080: run with --allow-net=\[::1\]:8080 /
    )
    expect(
      denoPermissionRefusal({ reason: { cause: new NotCapable('Requires read access to "/etc/x", run again') } })
    ).toBe('Deno refused a permission: Requires read access to "/etc/x", run again')
  })

  test("other failures are not refusals", () => {
    expect(denoPermissionRefusal(new TypeError("fetch failed"))).toBeUndefined()
    expect(denoPermissionRefusal({ reason: { cause: new Error("connect ECONNREFUSED 127.0.0.1:1") } })).toBeUndefined()
    expect(denoPermissionRefusal({ _tag: "TimeoutError" })).toBeUndefined()
    expect(denoPermissionRefusal(undefined)).toBeUndefined()
    const loop: Record<string, unknown> = {}
    loop.cause = loop
    expect(denoPermissionRefusal(loop)).toBeUndefined()
  })

  test("fail at once: one attempt, a fatal non-retryable error naming the host and the flag", async () => {
    let calls = 0
    const refusingFetch = (async () => {
      calls++
      throw netRefusal("data.alpaca.markets:443")
    }) as unknown as typeof globalThis.fetch
    const http = makeProviderHttp(
      {
        provider: "kit-deno",
        feed: "f",
        baseUrl: "https://data.alpaca.markets",
        secrets: ["kit-deno-secret-1234"],
        rateLimit: null,
        retryBaseMs: 1_000
      },
      kitServices()
    )
    const started = Date.now()
    const error = await Effect.runPromise(
      Effect.flip(http.getJson("/v2/stocks/bars", { symbols: "AAPL" })).pipe(
        Effect.provideService(FetchHttpClient.Fetch, refusingFetch)
      )
    )
    expect(calls).toBe(1)
    expect(Date.now() - started).toBeLessThan(900)
    expect(error).toMatchObject({ provider: "kit-deno", retryable: false, fatal: true })
    expect(error.exhausted).toBeUndefined()
    expect(error.message).toBe(
      "provider kit-deno: Deno refused network access to data.alpaca.markets:443: run with --allow-net=data.alpaca.markets:443 (deno task ingest|backfill|marketpipe grants the configured providers' hosts; MARKETPIPE_DENO_ALLOW_NET adds others) (GET /v2/stocks/bars)"
    )
  })

  test("a plain transport failure is still retried", async () => {
    let calls = 0
    const flakyFetch = (async () => {
      calls++
      throw new TypeError("fetch failed")
    }) as unknown as typeof globalThis.fetch
    const http = makeProviderHttp(
      {
        provider: "kit-deno",
        feed: "f",
        baseUrl: "https://x.example",
        secrets: [],
        rateLimit: null,
        retryBaseMs: 1,
        maxAttempts: 3
      },
      kitServices()
    )
    const error = await Effect.runPromise(
      Effect.flip(http.getJson("/y")).pipe(Effect.provideService(FetchHttpClient.Fetch, flakyFetch))
    )
    expect(calls).toBe(3)
    expect(error).toMatchObject({ exhausted: true, retryable: false })
    expect(error.reason).toMatch(/^gave up after 3 tries: connection failed/)
  })
})

describe("parseIsoUtc", () => {
  test("reads RFC 3339 times with Z or an offset, and refuses fields out of range instead of rolling them over", () => {
    expect(parseIsoUtc("2024-03-08T14:30:00Z")).toBe(Date.parse("2024-03-08T14:30:00Z"))
    expect(parseIsoUtc("2024-03-08T09:30:00.250-05:00")).toBe(Date.parse("2024-03-08T14:30:00.250Z"))
    expect(parseIsoUtc("2024-02-29T10:00:00Z")).toBe(Date.parse("2024-02-29T10:00:00Z"))
    // Date.UTC would turn these into other, real-looking bar times.
    for (const bad of ["2024-03-10T37:30:00Z", "2024-02-30T10:00:00Z", "2023-02-29T10:00:00Z", "2024-13-01T00:00:00Z"])
      expect(parseIsoUtc(bad)).toBeNaN()
    expect(parseIsoUtc("2024-03-08T14:30:00+24:00")).toBeNaN()
    // Years before 100 are years, not 19xx.
    expect(new Date(parseIsoUtc("0050-01-01T00:00:00Z")).getUTCFullYear()).toBe(50)
  })
})

describe("plugin kit parts", () => {
  const kit = makePluginHost("kit-parts", makeCalendar(), kitServices()).kit

  test("providerError takes an options object; the positional form of contract v1 gives the same, masked, error", () => {
    registerSecret("parts-secret-123456")
    const named = kit.providerError({ reason: "bad parts-secret-123456", retryable: false, fatal: true })
    expect(named).toMatchObject({ provider: "kit-parts", reason: "bad ***", retryable: false, fatal: true })
    expect(named.aboutSymbol).toBe(false)
    expect(kit.providerError("bad parts-secret-123456", false, true)).toEqual(named)
    expect(kit.providerError({ reason: "no such ticker", retryable: false, aboutSymbol: true })).toMatchObject({
      fatal: false,
      aboutSymbol: true
    })
  })

  test("decodeOptions names the provider's key, or says what the plugin asks it to; httpTuning passes only keys set", async () => {
    const schema = Schema.Struct({ ...kit.httpTuningFields, page_limit: Schema.optionalKey(Schema.Int) })
    const ok = await Effect.runPromise(kit.decodeOptions(schema, { max_attempts: 3 }))
    expect(kit.httpTuning(ok)).toEqual({ maxAttempts: 3 })
    expect(kit.httpTuning({ retry_base_ms: 0 })).toEqual({ retryBaseMs: 0 })
    const bad = await Effect.runPromise(Effect.flip(kit.decodeOptions(schema, { max_attempts: 0 })))
    expect(bad).toMatchObject({ retryable: false, fatal: false })
    expect(bad.reason).toMatch(/^providers\.kit-parts: .*\n\s+at \["max_attempts"\]/su)
    const worded = await Effect.runPromise(
      Effect.flip(kit.decodeOptions(schema, { retry_base_ms: -1 }, () => "say it so"))
    )
    expect(worded.reason).toBe("say it so")
  })
})

describe("wire values in error messages", () => {
  test("a value nested too deep to print is named, not a crash; others are JSON cut to 120 characters", () => {
    let deep: unknown = 0
    for (let i = 0; i < 200_000; i++) deep = [deep]
    expect(shownWire(deep)).toBe("(a value nested too deep to print)")
    expect(shownWire({ t: "x".repeat(500) })).toHaveLength(120)
    expect(shownWire(undefined)).toBe("null")
    expect(isBarTime(1_709_301_000_000)).toBe(true)
    expect(isBarTime(1_709_301_000.5)).toBe(false)
    expect(isBarTime(253_402_214_400_000)).toBe(false)
  })
})
