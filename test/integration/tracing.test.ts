import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import { ingestMain } from "../../src/cli/commands/ingest.ts"
import {
  otlpTracesEndpoint,
  StderrSpanExporter,
  tracingFromEnvironment,
  tracingLayer,
  tracingLayerWith
} from "../../src/observability/tracing.ts"
import { alpacaRoutes } from "../emulators/alpaca.ts"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import type { ProviderRoutes } from "../emulators/types.ts"
import { capture } from "../support/capture.ts"
import { bunBin, mainTs, runSourceAsync } from "../support/cli.ts"
import { ingestFlags } from "../support/ingest.ts"
import { runServices } from "../support/run-services.ts"
import { useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-tracing-")
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

const alpaca = () => alpacaEnv(emulator)

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((s) => s.name === name)
const idOf = (s: ReadableSpan) => s.spanContext().spanId
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

describe("spans of an ingest (Alpaca emulator, in-memory exporter)", () => {
  test("job → unit → provider.request and unit → partition → parquet.write, with attributes and no credentials", async () => {
    const exporter = new InMemorySpanExporter()
    const flags = ingestFlags({
      provider: Option.some("alpaca"),
      feed: Option.some("sip"),
      symbols: "AAPL,MSFT",
      start: "2024-03-07",
      end: "2024-03-08"
    })
    const program = Effect.gen(function* () {
      const summary = yield* ingestMain(flags, { env: alpaca(), cwd: fresh() })
      // Closing the SDK layer empties the exporter: read the spans while it is open.
      return { summary, spans: [...exporter.getFinishedSpans()] }
    }).pipe(Effect.provide(tracingLayerWith(new SimpleSpanProcessor(exporter))), Effect.provide(runServices()))
    const { value } = await capture(() => Effect.runPromise(program))
    const { summary, spans } = value
    expect(summary.job.state).toBe("succeeded")

    const jobs = named(spans, "marketpipe.job")
    expect(jobs).toHaveLength(1)
    const job = jobs[0] as ReadableSpan
    expect(parentOf(job)).toBeUndefined()
    expect(job.attributes).toMatchObject({
      "marketpipe.job_id": summary.job.id,
      "marketpipe.job_kind": "ingest",
      "marketpipe.provider": "alpaca",
      "marketpipe.feed": "sip",
      "marketpipe.frame": "1m",
      "marketpipe.symbols_count": 2,
      "marketpipe.job_state": "succeeded"
    })
    const traceId = job.spanContext().traceId

    const units = named(spans, "marketpipe.unit")
    expect(units.length).toBeGreaterThan(0)
    for (const u of units) {
      expect(parentOf(u)).toBe(idOf(job))
      expect(u.attributes).toMatchObject({ "marketpipe.provider": "alpaca", "marketpipe.feed": "sip" })
    }
    const unitIds = new Set(units.map(idOf))

    const requests = named(spans, "marketpipe.provider.request")
    expect(requests.length).toBeGreaterThanOrEqual(units.length)
    for (const r of requests) {
      expect(unitIds.has(parentOf(r) ?? "")).toBe(true)
      expect(r.attributes).toMatchObject({
        "marketpipe.provider": "alpaca",
        "marketpipe.feed": "sip",
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "marketpipe.attempt": 1
      })
      expect(String(r.attributes["url.path"])).toStartWith("/v2/stocks")
    }

    const partitions = named(spans, "marketpipe.partition")
    expect(partitions.map((p) => p.attributes["marketpipe.symbol"]).sort()).toEqual(["AAPL", "MSFT"])
    for (const p of partitions) {
      expect(unitIds.has(parentOf(p) ?? "")).toBe(true)
      expect(p.attributes).toMatchObject({
        "marketpipe.first_day": "2024-03-07",
        "marketpipe.last_day": "2024-03-08",
        "marketpipe.rows": 780
      })
    }
    const partitionIds = new Set(partitions.map(idOf))

    // The 1m lake and quarantine writes belong to partitions; the higher frames are built after the job.
    const writes = named(spans, "marketpipe.parquet.write").filter((w) =>
      String(w.attributes["marketpipe.file"]).includes("frame=1m/")
    )
    expect(writes.map((w) => w.attributes["marketpipe.file"]).sort()).toEqual([
      "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet",
      "ohlcv/frame=1m/symbol=MSFT/2024-03.parquet",
      "quarantine/frame=1m/symbol=AAPL/2024-03.parquet",
      "quarantine/frame=1m/symbol=MSFT/2024-03.parquet"
    ])
    for (const w of writes) expect(partitionIds.has(parentOf(w) ?? "")).toBe(true)
    expect(writes.filter((w) => w.attributes["marketpipe.rows"] === 780)).toHaveLength(2)

    for (const s of [...units, ...requests, ...partitions, ...writes]) expect(s.spanContext().traceId).toBe(traceId)

    // The HTTP client's own spans are off (their url.full would keep query credentials).
    expect(spans.filter((s) => s.attributes["url.full"] !== undefined)).toEqual([])
    const everything = JSON.stringify(
      spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, resource: s.resource.attributes }))
    )
    expect(everything).not.toContain(emulator.keys.alpaca.id)
    expect(everything).not.toContain(emulator.keys.alpaca.secret)
  })

  test("a retried request shows each try with its status code; no trace headers reach the provider", async () => {
    // An Alpaca that answers 503 to the first two bar requests and remembers the headers it was sent.
    const seen: Array<Readonly<Record<string, string | undefined>>> = []
    const flaky: ProviderRoutes = {
      ...alpacaRoutes,
      handle: (req, ctx) => {
        seen.push(req.headers)
        return seen.length <= 2 ? { status: 503, body: { message: "try again" } } : alpacaRoutes.handle(req, ctx)
      }
    }
    const flakyEmulator = await startEmulator({ routes: [flaky] })
    try {
      const cwd = fresh()
      writeFileSync(join(cwd, "marketpipe.yaml"), "providers:\n  alpaca:\n    retry_base_ms: 1\n")
      const exporter = new InMemorySpanExporter()
      const flags = ingestFlags({
        provider: Option.some("alpaca"),
        feed: Option.some("sip"),
        symbols: "AAPL",
        start: "2024-03-07",
        end: "2024-03-07"
      })
      const env = { ...alpaca(), MARKETPIPE_ALPACA_BASE_URL: flakyEmulator.url }
      const program = Effect.gen(function* () {
        const summary = yield* ingestMain(flags, { env, cwd })
        return { summary, spans: [...exporter.getFinishedSpans()] }
      }).pipe(Effect.provide(tracingLayerWith(new SimpleSpanProcessor(exporter))), Effect.provide(runServices()))
      const { value } = await capture(() => Effect.runPromise(program))
      expect(value.summary.job.state).toBe("succeeded")
      const requests = named(value.spans, "marketpipe.provider.request").sort(
        (a, b) => Number(a.attributes["marketpipe.attempt"]) - Number(b.attributes["marketpipe.attempt"])
      )
      expect(
        requests.map((r) => [r.attributes["marketpipe.attempt"], r.attributes["http.response.status_code"]])
      ).toEqual([
        [1, 503],
        [2, 503],
        [3, 200]
      ])
      const [unit] = named(value.spans, "marketpipe.unit")
      for (const r of requests) expect(parentOf(r)).toBe(unit === undefined ? "-" : idOf(unit))
      expect(seen).toHaveLength(3)
      for (const headers of seen) {
        expect(headers.traceparent).toBeUndefined()
        expect(headers.b3).toBeUndefined()
      }
    } finally {
      await flakyEmulator.stop()
    }
  })
})

describe("tracingFromEnvironment", () => {
  const args = ["ohlcv", "ingest", "--symbols", "AAPL"]
  const choose = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) => tracingFromEnvironment(argv, env)

  test("off by default; the argv is passed through", () => {
    expect(choose(args)).toEqual({
      _tag: "Chosen",
      options: { mode: "off", serviceName: "marketpipe" },
      argv: args
    })
  })

  test("--trace console / --trace=otlp are taken out of argv wherever they are", () => {
    expect(choose(["--trace", "console", ...args])).toMatchObject({ options: { mode: "console" }, argv: args })
    expect(choose([...args, "--trace=otlp"])).toMatchObject({ options: { mode: "otlp" }, argv: args })
    const otlp = choose(["ohlcv", "--trace", "otlp", "ingest", "--symbols", "AAPL"])
    expect(otlp).toMatchObject({ options: { mode: "otlp" }, argv: args })
    // No endpoint: the exporter's default (localhost:4318).
    expect(otlp._tag === "Chosen" && otlp.options.endpoint).toBeUndefined()
    // After `--` nothing is ours.
    expect(choose([...args, "--", "--trace", "console"])).toMatchObject({
      options: { mode: "off" },
      argv: [...args, "--", "--trace", "console"]
    })
  })

  test("OTEL_EXPORTER_OTLP_ENDPOINT turns OTLP on (with /v1/traces); the traces endpoint is used as is", () => {
    expect(choose(args, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toMatchObject({
      options: { mode: "otlp", endpoint: "http://collector:4318/v1/traces" },
      argv: args
    })
    expect(
      choose(args, {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:9999/custom"
      })
    ).toMatchObject({ options: { mode: "otlp", endpoint: "http://traces:9999/custom" } })
    expect(otlpTracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toBeUndefined()
  })

  test("the flag wins over the environment; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER are honoured", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
    expect(choose(["--trace", "off", ...args], env)).toMatchObject({ options: { mode: "off" }, argv: args })
    expect(choose(["--trace", "console", ...args], env)).toMatchObject({ options: { mode: "console" } })
    expect(choose(args, { ...env, OTEL_SDK_DISABLED: "true" })).toMatchObject({ options: { mode: "off" } })
    expect(choose(args, { ...env, OTEL_TRACES_EXPORTER: "none" })).toMatchObject({ options: { mode: "off" } })
    expect(choose(args, { OTEL_TRACES_EXPORTER: "console" })).toMatchObject({ options: { mode: "console" } })
    expect(choose(args, { ...env, OTEL_SERVICE_NAME: "mp-prod" })).toMatchObject({
      options: { serviceName: "mp-prod" }
    })
  })

  test("a missing or unknown mode is a usage error", () => {
    expect(choose([...args, "--trace"])._tag).toBe("Invalid")
    expect(choose(["--trace", "--json", ...args])._tag).toBe("Invalid")
    const bad = choose(["--trace", "jaeger", ...args])
    expect(bad._tag === "Invalid" && bad.reason).toContain("off, console, otlp")
  })

  test("off is no layer at all", () => {
    expect(tracingLayer({ mode: "off", serviceName: "marketpipe" })).toBe(Layer.empty)
  })

  test("the console exporter writes one JSON line per span", () => {
    const lines: Array<string> = []
    const exporter = new StderrSpanExporter((line) => lines.push(line))
    const span = {
      name: "marketpipe.unit",
      spanContext: () => ({ traceId: "t".repeat(32), spanId: "s".repeat(16), traceFlags: 1 }),
      parentSpanContext: { traceId: "t".repeat(32), spanId: "p".repeat(16), traceFlags: 1 },
      startTime: [1_700_000_000, 0],
      duration: [0, 1_500_000],
      status: { code: 2, message: "boom" },
      attributes: { "marketpipe.symbol": "AAPL" }
    } as unknown as ReadableSpan
    let code = -1
    exporter.export([span], (result) => {
      code = result.code
    })
    expect(code).toBe(0)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] as string)).toEqual({
      span: "marketpipe.unit",
      trace_id: "t".repeat(32),
      span_id: "s".repeat(16),
      parent_span_id: "p".repeat(16),
      start: "2023-11-14T22:13:20.000Z",
      duration_ms: 1.5,
      status: "error",
      status_message: "boom",
      attributes: { "marketpipe.symbol": "AAPL" }
    })
  })
})

const fakeIngest = ["ohlcv", "ingest", "--provider", "fake", "--symbols", "AAPL", "--start", "2024-01-02"]

interface ConsoleSpan {
  readonly span: string
  readonly span_id: string
  readonly parent_span_id: string | null
  readonly attributes: Record<string, unknown>
}

describe("the CLI with tracing (subprocess)", () => {
  test("--trace console prints spans to stderr; --json stdout stays one JSON document", async () => {
    const r = await runSourceAsync([...fakeIngest, "--end", "2024-01-03", "--trace", "console", "--json"], {
      cwd: fresh()
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).job).toMatchObject({ state: "succeeded", partitionsDone: 2 })
    const spans = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as ConsoleSpan)
    const byName = (name: string) => spans.filter((s) => s.span === name)
    const [job] = byName("marketpipe.job")
    expect(byName("marketpipe.job")).toHaveLength(1)
    expect(job?.parent_span_id).toBeNull()
    const [unit] = byName("marketpipe.unit")
    expect(unit?.parent_span_id).toBe(job?.span_id as string)
    const [partition] = byName("marketpipe.partition")
    expect(partition?.parent_span_id).toBe(unit?.span_id as string)
    expect(partition?.attributes["marketpipe.symbol"]).toBe("AAPL")
    const lakeWrite = byName("marketpipe.parquet.write").find(
      (w) => w.attributes["marketpipe.file"] === "ohlcv/frame=1m/symbol=AAPL/2024-01.parquet"
    )
    expect(lakeWrite?.parent_span_id).toBe(partition?.span_id as string)
  })

  test("without --trace nothing is printed; a bad --trace is a usage error", async () => {
    const quiet = await runSourceAsync([...fakeIngest, "--end", "2024-01-02", "--json"], { cwd: fresh() })
    expect(quiet.code).toBe(0)
    expect(quiet.stderr).not.toContain("marketpipe.job")
    const bad = await runSourceAsync([...fakeIngest, "--end", "2024-01-02", "--trace", "jaeger"], { cwd: fresh() })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--trace must be one of off, console, otlp")
  })
})

interface OtlpSpan {
  readonly name: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
}

/** A tiny OTLP/HTTP (JSON) collector: records the spans and the service name of every POST /v1/traces. */
async function startCollector() {
  const posts: Array<{ url: string; service: unknown; spans: Array<OtlpSpan> }> = []
  const waiters: Array<() => void> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
        resourceSpans?: Array<{
          resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> }
          scopeSpans: Array<{ spans: Array<OtlpSpan> }>
        }>
      }
      for (const rs of body.resourceSpans ?? []) {
        posts.push({
          url: `${req.method} ${req.url}`,
          service: rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue,
          spans: rs.scopeSpans.flatMap((s) => s.spans)
        })
      }
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{}")
      for (const w of waiters.splice(0)) w()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    nextPost: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe("OTLP/HTTP export (subprocess)", () => {
  test("OTEL_EXPORTER_OTLP_ENDPOINT sends the run's spans to <endpoint>/v1/traces before the process exits", async () => {
    const collector = await startCollector()
    try {
      const r = await runSourceAsync([...fakeIngest, "--end", "2024-01-03", "--json"], {
        cwd: fresh(),
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: "mp-e2e" }
      })
      expect(r.code).toBe(0)
      expect(JSON.parse(r.stdout).job.state).toBe("succeeded")
      expect(collector.posts.length).toBeGreaterThan(0)
      expect(collector.posts.every((p) => p.url === "POST /v1/traces" && p.service === "mp-e2e")).toBe(true)
      const spans = collector.posts.flatMap((p) => p.spans)
      const job = spans.filter((s) => s.name === "marketpipe.job")
      expect(job).toHaveLength(1)
      const units = spans.filter((s) => s.name === "marketpipe.unit")
      expect(units.length).toBeGreaterThan(0)
      for (const u of units) expect(u.parentSpanId).toBe(job[0]?.spanId as string)
    } finally {
      await collector.stop()
    }
  })

  test("SIGINT mid-job still exports the job span (the SDK is flushed before the exit code is set)", async () => {
    const collector = await startCollector()
    try {
      const symbols = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, "0")}`).join(",")
      const child = spawn(
        bunBin,
        [
          mainTs,
          "ohlcv",
          "ingest",
          "--provider",
          "fake",
          "--symbols",
          symbols,
          "--start",
          "2023-01-03",
          "--end",
          "2023-12-29",
          "--concurrency",
          "1",
          "--json"
        ],
        {
          cwd: fresh(),
          env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "/tmp",
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.url
          }
        }
      )
      const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)))
      // A first batch of spans means the job is under way (it would take minutes to finish).
      await collector.nextPost()
      expect(collector.posts.flatMap((p) => p.spans).some((s) => s.name === "marketpipe.job")).toBe(false)
      child.kill("SIGINT")
      expect(await exited).toBe(130)
      const job = collector.posts.flatMap((p) => p.spans).filter((s) => s.name === "marketpipe.job")
      expect(job).toHaveLength(1)
      const state = job[0]?.attributes.find((a) => a.key === "marketpipe.job_state")
      expect(state).toBeUndefined() // interrupted before it finished
    } finally {
      await collector.stop()
    }
  })
})
