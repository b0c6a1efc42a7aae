import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { spawn } from "node:child_process"
import { createServer, type Server } from "node:http"
import { type AddressInfo, connect } from "node:net"
import { Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import { metricsServeMain } from "../../src/cli/commands/metrics.ts"
import { type WorkerFlags, workerMain } from "../../src/cli/commands/worker.ts"
import { monitorEventLoop } from "../../src/observability/event-loop.ts"
import { Metrics, type MetricsShape, makeMetrics } from "../../src/observability/metrics.ts"
import {
  MetricsServer,
  type MetricsServerOptions,
  maxHeaderBytes,
  metricsServerLayer,
  serveMetrics
} from "../../src/observability/server.ts"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { backfillFlags, backfillIn } from "../support/backfill.ts"
import { capture } from "../support/capture.ts"
import { bunBin, mainTs, runSourceAsync } from "../support/cli.ts"
import { failureTag, ingestFlags, ingestIn } from "../support/ingest.ts"
import { runServices } from "../support/run-services.ts"
import { useTempDirs } from "../support/temp.ts"

// ---------------------------------------------------------------------------------------------------------------
// Helpers: a server in a scope of the test's own, the exposition format, raw sockets, ports.

const fresh = useTempDirs("mp-metrics-server-")

/** Opens a metrics server over `metrics` in a scope the test closes with `close()`. */
const open = async (options: MetricsServerOptions, metrics: MetricsShape = makeMetrics()) => {
  const scope = Effect.runSync(Scope.make())
  const info = await Effect.runPromise(
    serveMetrics(options).pipe(Scope.provide(scope), Effect.provideService(Metrics, metrics))
  )
  return { ...info, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Parses the Prometheus text format (the sample lines; comments skipped). */
const parse = (text: string): Array<Sample> =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => {
      const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/u.exec(line)
      if (m === null) throw new Error(`not a sample line: ${line}`)
      const labels: Record<string, string> = {}
      for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/gu)) labels[l[1] as string] = l[2] as string
      const raw = m[3] as string
      const value = raw === "+Inf" ? Number.POSITIVE_INFINITY : raw === "-Inf" ? Number.NEGATIVE_INFINITY : Number(raw)
      return { name: m[1] as string, labels, value }
    })

const matching = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** Sum of the matching samples (0 when there is none yet: a counter that has not moved is not exported). */
const total = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}) =>
  matching(samples, name, labels).reduce((sum, s) => sum + s.value, 0)

const lagOf = (samples: ReadonlyArray<Sample>): number => {
  const lag = matching(samples, "event_loop_lag_seconds")
  expect(lag).toHaveLength(1)
  return (lag[0] as Sample).value
}

/** Every value the monitor sets on `gauge` from now on, and the next one as a promise (a spy, not a timer). */
const watchGauge = (gauge: MetricsShape["eventLoopLag"]) => {
  const original = gauge.set
  const seen: Array<number> = []
  let waiting: ((value: number) => void) | undefined
  gauge.set = function (this: typeof gauge, ...args: Array<unknown>) {
    ;(original as (...a: Array<unknown>) => void).apply(this, args)
    const value = args.at(-1) as number
    seen.push(value)
    waiting?.(value)
  } as typeof gauge.set
  return {
    seen,
    next: () => new Promise<number>((resolve) => (waiting = resolve)),
    restore: () => {
      gauge.set = original
    }
  }
}

const scrape = async (url: string) => {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  return parse(await res.text())
}

/** Writes `text` on a raw socket and resolves with everything the server sent before it closed the connection. */
const raw = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text))
    let received = ""
    socket.on("data", (d) => {
      received += String(d)
    })
    socket.on("error", reject)
    socket.on("close", () => resolve(received))
  })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })

/** A plain HTTP server on 127.0.0.1:`port` (0: any free port). */
const occupy = (port = 0) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer((_req, res) => res.end("someone else\n"))
    s.once("error", reject)
    s.listen(port, "127.0.0.1", () => resolve(s))
  })
const portOf = (s: Server) => (s.address() as AddressInfo).port
const stop = (s: Server) =>
  new Promise<void>((resolve) => {
    s.closeAllConnections()
    s.close(() => resolve())
  })

/** True when nothing listens on the port any more: connecting is refused and the port can be bound again. */
const released = async (port: number) => {
  const refused = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    () => false,
    () => true
  )
  const again = await occupy(port)
  await stop(again)
  return refused
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator, behind a gate that can hold provider bar requests: while one is held, the run is in progress.

interface Gate {
  readonly url: string
  /** Holds the next bar requests; resolves once one is waiting (the ingest is then mid-run). */
  readonly hold: () => Promise<void>
  readonly release: () => void
  readonly stop: () => Promise<void>
}

const forwarded = ["apca-api-key-id", "apca-api-secret-key", "accept", "user-agent"]

async function startGate(target: string): Promise<Gate> {
  let held:
    | { arrived: ReturnType<typeof Promise.withResolvers<void>>; open: ReturnType<typeof Promise.withResolvers<void>> }
    | undefined
  const server = createServer((req, res) => {
    const path = req.url ?? "/"
    const wait =
      held !== undefined && path.startsWith("/v2/stocks/bars") ? (held.arrived.resolve(), held.open.promise) : undefined
    Promise.resolve(wait)
      .then(() =>
        fetch(`${target}${path}`, {
          method: req.method ?? "GET",
          headers: Object.fromEntries(
            forwarded.flatMap((h) => (typeof req.headers[h] === "string" ? [[h, req.headers[h]]] : []))
          )
        })
      )
      .then(async (upstream) => {
        const body = await upstream.text()
        const headers: Record<string, string> = {}
        for (const [k, v] of upstream.headers) {
          if (k === "content-type" || k.startsWith("x-ratelimit")) headers[k] = v
        }
        res.writeHead(upstream.status, headers)
        res.end(body)
      })
      .catch((error: unknown) => {
        res.writeHead(502, { "content-type": "text/plain" })
        res.end(String(error))
      })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${portOf(server)}`,
    hold: () => {
      held = { arrived: Promise.withResolvers(), open: Promise.withResolvers() }
      return held.arrived.promise
    },
    release: () => {
      held?.open.resolve()
      held = undefined
    },
    stop: () => stop(server)
  }
}

let emulator: Emulator
let gate: Gate
beforeAll(async () => {
  emulator = await startEmulator()
  gate = await startGate(emulator.url)
})
afterAll(async () => {
  gate.release()
  await gate.stop()
  await emulator.stop()
})

// The Alpaca plugin goes through the gate in front of the emulator.
const gatedEnv = (): Record<string, string> => ({ ...alpacaEnv(emulator), MARKETPIPE_ALPACA_BASE_URL: gate.url })

const alpaca = { provider: "alpaca", feed: "sip" }
const alpaca1m = { ...alpaca, frame: "1m" }

// ---------------------------------------------------------------------------------------------------------------

describe("metrics server: HTTP surface", () => {
  test("GET /metrics serves the registry; HEAD the same headers without a body; 404 elsewhere; 405 + Allow", async () => {
    const server = await open({ port: 0 })
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`)
      const get = await fetch(server.url)
      expect(get.status).toBe(200)
      expect(get.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
      const body = await get.text()
      expect(body).toContain("# TYPE marketpipe_build_info gauge")
      expect(matching(parse(body), "marketpipe_build_info")[0]?.labels.version).toBeString()

      const head = await fetch(server.url, { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"))
      expect(Number(head.headers.get("content-length"))).toBeGreaterThan(1000)
      expect(await head.text()).toBe("")
      // On the wire too: the head's declared length and no body bytes after it.
      const wire = await raw(server.port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      expect(wire).toStartWith("HTTP/1.1 200")
      expect(wire.split("\r\n\r\n")[1]).toBe("")

      const base = `http://127.0.0.1:${server.port}`
      for (const path of ["/", "/metricsx", "/metrics/", "/favicon.ico"]) {
        const res = await fetch(`${base}${path}`)
        expect(res.status).toBe(404)
        await res.text()
      }
      // A query string is fine (Prometheus may add one); the path decides.
      expect((await fetch(`${server.url}?x=1`)).status).toBe(200)
      for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        const res = await fetch(server.url, { method, ...(method === "POST" ? { body: "x=1" } : {}) })
        expect(res.status).toBe(405)
        expect(res.headers.get("allow")).toBe("GET, HEAD")
        await res.text()
      }
    } finally {
      await server.close()
    }
  })

  test("a request head over 8 KiB gets 400 (not 431); a small one on the same server still works", async () => {
    const server = await open({ port: 0 })
    try {
      const big = `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(20 * 1024)}\r\nConnection: close\r\n\r\n`
      const answer = await raw(server.port, big)
      expect(answer).toStartWith("HTTP/1.1 400 Bad Request")
      expect(answer).toContain(`request headers exceed ${maxHeaderBytes} bytes`)
      const justOver = await raw(
        server.port,
        `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(maxHeaderBytes + 512)}\r\nConnection: close\r\n\r\n`
      )
      expect(justOver).toStartWith("HTTP/1.1 400")
      const ok = await raw(server.port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      expect(ok).toStartWith("HTTP/1.1 200")
      expect((await fetch(server.url)).status).toBe(200)
    } finally {
      await server.close()
    }
  })

  test("a busy port is a UsageError naming the flag; nothing is left listening", async () => {
    const other = await occupy()
    const port = portOf(other)
    try {
      const exit = await Effect.runPromiseExit(
        serveMetrics({ port }).pipe(Effect.scoped, Effect.provideService(Metrics, makeMetrics()))
      )
      expect(failureTag(exit)).toBe("UsageError")
      const error = await Effect.runPromise(
        Effect.flip(serveMetrics({ port }).pipe(Effect.scoped, Effect.provideService(Metrics, makeMetrics())))
      )
      expect(error).toMatchObject({
        field: "--port",
        reason: `port ${port} on 127.0.0.1 is in use; choose another with --port`
      })
      const embedded = await Effect.runPromise(
        Effect.flip(
          serveMetrics({ port, flag: "--metrics-port" }).pipe(
            Effect.scoped,
            Effect.provideService(Metrics, makeMetrics())
          )
        )
      )
      expect(embedded.message).toBe(
        `--metrics-port: port ${port} on 127.0.0.1 is in use; choose another with --metrics-port`
      )
      // The other server is untouched.
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("someone else\n")
      const bad = await Effect.runPromise(
        Effect.flip(serveMetrics({ port: 70_000 }).pipe(Effect.scoped, Effect.provideService(Metrics, makeMetrics())))
      )
      expect(bad).toMatchObject({ _tag: "UsageError", field: "--port" })
    } finally {
      await stop(other)
    }
  })

  test("closing the scope closes the listener and open keep-alive connections; the port is free again", async () => {
    const server = await open({ port: 0 })
    // A keep-alive connection that stays open after its response: close must not wait for it.
    const socket = connect(server.port, "127.0.0.1")
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
    const answered = new Promise<string>((resolve) => socket.once("data", (d) => resolve(String(d))))
    socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    expect(await answered).toStartWith("HTTP/1.1 200")
    expect(socket.destroyed).toBe(false)
    await server.close()
    await closed
    expect(await released(server.port)).toBe(true)
  })

  test("the lag monitor measures a blocked event loop and stops with its scope", async () => {
    const metrics = makeMetrics()
    let waiting: ((lag: number) => void) | undefined
    let samples = 0
    const scope = Effect.runSync(Scope.make())
    await Effect.runPromise(
      monitorEventLoop(metrics.eventLoopLag, {
        intervalMs: 20,
        onSample: (lag) => {
          samples++
          waiting?.(lag)
        }
      }).pipe(Scope.provide(scope))
    )
    const next = () => new Promise<number>((resolve) => (waiting = resolve))
    // A stall of 300 ms (synchronous work, as a long parse would be): the timer due after 20 ms fires ~280 ms late.
    const sample = next()
    const until = performance.now() + 300
    while (performance.now() < until) {
      // busy: the loop cannot run timers
    }
    const lag = await sample
    expect(lag).toBeGreaterThan(0.2)
    expect(lag).toBeLessThan(5)
    expect((await metrics.eventLoopLag.get()).values[0]?.value).toBe(lag)
    // An idle loop: the next sample is small again.
    expect(await next()).toBeLessThan(0.2)
    expect(samples).toBeGreaterThanOrEqual(2)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  test("as a layer: the server runs while the layer is in use and is gone once it is released", async () => {
    const layer = metricsServerLayer({ port: 0 }).pipe(Layer.provide(Layer.succeed(Metrics, makeMetrics())))
    const info = await Effect.runPromise(
      Effect.gen(function* () {
        const server = yield* MetricsServer
        const res = yield* Effect.promise(() => fetch(server.url))
        expect(res.status).toBe(200)
        yield* Effect.promise(() => res.text())
        return server
      }).pipe(Effect.provide(layer))
    )
    expect(await released(info.port)).toBe(true)
  })
})

describe("metrics server: during ingests", () => {
  test("scrapes before, during and after an alpaca ingest show the series with their labels, and they move", async () => {
    // The server and the ingest share the run's registry, as `--metrics-port` does.
    const metrics = makeMetrics()
    const server = await open({ port: 0 }, metrics)
    try {
      const before = await scrape(server.url)
      expect(matching(before, "marketpipe_build_info")).toHaveLength(1)
      lagOf(before)

      const arrived = gate.hold()
      const cwd = fresh()
      const running = capture(() =>
        ingestIn(
          cwd,
          ingestFlags({
            symbols: "AAPL,MSFT,SPY",
            start: "2024-03-04",
            end: "2024-03-08",
            provider: Option.some("alpaca"),
            feed: Option.some("sip"),
            json: true
          }),
          gatedEnv(),
          runServices(metrics)
        )
      )
      await arrived
      // Mid-run: a bar request is waiting at the gate, the server answers all the same.
      const during = await scrape(server.url)
      expect(lagOf(during)).toBeGreaterThanOrEqual(0)
      gate.release()
      const { value: exit } = await running
      expect(Exit.isSuccess(exit)).toBe(true)
      if (!Exit.isSuccess(exit)) return
      const job = exit.value.job
      expect(job).toMatchObject({ state: "succeeded", partitionsDone: 15 })

      const after = await scrape(server.url)
      const requests = { ...alpaca, status_class: "2xx" }
      expect(total(after, "marketpipe_provider_requests_total", requests)).toBeGreaterThan(
        total(before, "marketpipe_provider_requests_total", requests)
      )
      // Exactly the label set the issue names, nothing per request.
      for (const s of matching(after, "marketpipe_provider_requests_total", alpaca)) {
        expect(Object.keys(s.labels).sort()).toEqual(["feed", "provider", "status_class"])
      }
      const inf = { ...alpaca, le: "+Inf" }
      expect(total(after, "marketpipe_provider_request_duration_seconds_bucket", inf)).toBeGreaterThan(
        total(before, "marketpipe_provider_request_duration_seconds_bucket", inf)
      )
      expect(matching(after, "marketpipe_provider_request_duration_seconds_bucket", alpaca).length).toBeGreaterThan(5)
      expect(total(after, "marketpipe_provider_request_duration_seconds_count", alpaca)).toBe(
        total(after, "marketpipe_provider_request_duration_seconds_bucket", inf)
      )
      expect(
        total(after, "marketpipe_bars_ingested_total", alpaca1m) -
          total(before, "marketpipe_bars_ingested_total", alpaca1m)
      ).toBe(job.barsWritten)
      const done = { ...alpaca1m, state: "done" }
      expect(
        total(after, "marketpipe_partitions_total", done) - total(before, "marketpipe_partitions_total", done)
      ).toBe(15)
      expect(matching(after, "marketpipe_build_info")).toHaveLength(1)
      lagOf(after)
    } finally {
      gate.release()
      await server.close()
    }
  })

  test("backfill --metrics-port: 100 concurrent scrapes mid-run all succeed, the lag gauge stays small, the server closes with the run", async () => {
    const cwd = fresh()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}/metrics`
    const metrics = makeMetrics()
    const arrived = gate.hold()
    const running = backfillIn(
      cwd,
      backfillFlags({
        provider: Option.some("alpaca"),
        feed: Option.some("sip"),
        symbols: Option.some("AAPL,MSFT,SPY,QQQ,IWM,DIA,NVDA,AMZN"),
        from: Option.some("2024-02-01"),
        to: Option.some("2024-03-29"),
        metricsPort: Option.some(port)
      }),
      gatedEnv(),
      runServices(metrics)
    )
    const lag = watchGauge(metrics.eventLoopLag)
    try {
      await arrived
      // The backfill is mid-run (its first bar requests wait at the gate). Fire 100 scrapes at once, then let the
      // backfill go on, so the scrapes are answered while it parses, validates and writes.
      const scrapes = Array.from({ length: 100 }, () =>
        fetch(url).then(async (res) => ({ status: res.status, samples: parse(await res.text()) }))
      )
      gate.release()
      const answers = await Promise.all(scrapes)
      expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 100 }, () => 200))
      for (const a of answers) expect(matching(a.samples, "marketpipe_build_info")).toHaveLength(1)
      const lags = answers.map((a) => lagOf(a.samples))
      // The monitor's first sample after the burst measured the loop through it (unless the run ended first).
      await Promise.race([lag.next(), running])
      const late = await fetch(url).then(
        async (res) => lagOf(parse(await res.text())),
        () => undefined
      )
      lags.push(...lag.seen, ...(late === undefined ? [] : [late]))
      expect(lag.seen.length).toBeGreaterThan(0)
      expect(Math.max(...lags)).toBeLessThan(0.5)
    } finally {
      lag.restore()
      gate.release()
    }

    const r = await running
    expect(Exit.isSuccess(r.value)).toBe(true)
    expect(r.stderr).toContain(`metrics on ${url}`)
    expect(JSON.parse(r.stdout).job).toMatchObject({ state: "succeeded" })
    // The run is over: so is the server.
    expect(await released(port)).toBe(true)
  })

  test("backfill --metrics-port on a busy port fails as a usage error before asking the provider for bars", async () => {
    const other = await occupy()
    try {
      emulator.resetStats()
      const r = await backfillIn(
        fresh(),
        backfillFlags({
          provider: Option.some("alpaca"),
          feed: Option.some("sip"),
          symbols: Option.some("AAPL"),
          from: Option.some("2024-03-04"),
          to: Option.some("2024-03-05"),
          metricsPort: Option.some(portOf(other))
        }),
        gatedEnv()
      )
      expect(failureTag(r.value)).toBe("UsageError")
      expect(String(Exit.isFailure(r.value) ? r.value.cause : "")).toContain(
        `port ${portOf(other)} on 127.0.0.1 is in use; choose another with --metrics-port`
      )
      expect(emulator.stats().requests).toBe(0)
    } finally {
      await stop(other)
    }
  })

  test("worker --metrics-port serves while it processes queued work and closes when the queue is drained", async () => {
    const cwd = fresh()
    const queued = await backfillIn(
      cwd,
      backfillFlags({
        provider: Option.some("alpaca"),
        feed: Option.some("sip"),
        symbols: Option.some("AAPL,MSFT"),
        from: Option.some("2024-03-04"),
        to: Option.some("2024-03-08"),
        enqueue: true
      }),
      gatedEnv()
    )
    expect(JSON.parse(queued.stdout)).toMatchObject({ queued: true })
    const port = await freePort()
    const flags: WorkerFlags = {
      follow: false,
      leaseSeconds: 30,
      pollSeconds: 1,
      metricsPort: Option.some(port),
      config: Option.none(),
      dataDir: Option.none(),
      json: true
    }
    const arrived = gate.hold()
    const running = capture(() =>
      Effect.runPromiseExit(workerMain(flags, { env: gatedEnv(), cwd }).pipe(Effect.provide(runServices())))
    )
    await arrived
    const during = await scrape(`http://127.0.0.1:${port}/metrics`)
    expect(matching(during, "marketpipe_build_info")).toHaveLength(1)
    gate.release()
    const r = await running
    expect(Exit.isSuccess(r.value)).toBe(true)
    expect(r.stderr).toContain(`metrics on http://127.0.0.1:${port}/metrics`)
    expect(await released(port)).toBe(true)
  })
})

describe("metrics serve", () => {
  test("as a process: the first scrape shows what two past ingests stored, later runs join as they finish; SIGTERM stops it", async () => {
    const cwd = fresh()
    const ingest = (symbols: string, day: string) =>
      runSourceAsync(
        ["ohlcv", "ingest", "--provider", "fake", "--symbols", symbols, "--start", day, "--end", day, "--json"],
        { cwd }
      )
    const runs = [await ingest("AAPL", "2024-03-04"), await ingest("AAPL,MSFT", "2024-03-05")]
    for (const r of runs) expect(r.code).toBe(0)
    const written = runs.reduce((n, r) => n + (JSON.parse(r.stdout).job.barsWritten as number), 0)
    expect(written).toBeGreaterThan(0)

    const child = spawn(bunBin, [mainTs, "metrics", "serve", "--port", "0"], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" }
    })
    let stderr = ""
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    const listening = new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += String(d)
        const m = /metrics on (http:\/\/\S+)/u.exec(stderr)
        if (m?.[1] !== undefined) resolve(m[1])
      })
      void exited.then(({ code }) => reject(new Error(`metrics serve exited (${code}) before listening:\n${stderr}`)))
    })
    try {
      const url = await listening
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      const first = await scrape(url)
      const fake1m = { provider: "fake", feed: "synthetic", frame: "1m" }
      expect(total(first, "marketpipe_bars_ingested_total", fake1m)).toBe(written)
      expect(total(first, "marketpipe_partitions_total", { ...fake1m, state: "done" })).toBe(3)
      expect(total(first, "marketpipe_jobs_total", { kind: "ingest", state: "succeeded" })).toBe(2)
      // Ledger gauges come from the repository, refreshed for the scrape.
      expect(total(first, "marketpipe_ledger_completeness_ratio", fake1m)).toBe(1)
      expect(total(first, "marketpipe_data_freshness_seconds", fake1m)).toBeGreaterThan(0)
      lagOf(first)
      // Serving does not add to the totals.
      expect(total(await scrape(url), "marketpipe_bars_ingested_total", fake1m)).toBe(written)
      // A timer-driven run that finishes while it serves is in the next scrape, without a restart.
      const later = await ingest("SPY", "2024-03-06")
      expect(later.code).toBe(0)
      const after = await scrape(url)
      expect(total(after, "marketpipe_bars_ingested_total", fake1m)).toBe(
        written + JSON.parse(later.stdout).job.barsWritten
      )
      expect(total(after, "marketpipe_jobs_total", { kind: "ingest", state: "succeeded" })).toBe(3)

      child.kill("SIGTERM")
      const deadline = new Promise<never>((_, reject) => {
        const t = setTimeout(
          () => reject(new Error(`metrics serve still running 15 s after SIGTERM:\n${stderr}`)),
          15_000
        )
        void exited.then(() => clearTimeout(t))
      })
      const end = await Promise.race([exited, deadline])
      // It exits by itself (interrupted: 130), not by the signal's default action.
      expect(end).toEqual({ code: 130, signal: null })
      expect(await released(Number(new URL(url).port))).toBe(true)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
  })

  test("in-process: warns about a non-loopback --host, serves until interrupted, then closes", async () => {
    const cwd = fresh()
    const lines: Array<string> = []
    let listening: ((url: string) => void) | undefined
    const url = new Promise<string>((resolve) => (listening = resolve))
    const write = process.stderr.write.bind(process.stderr)
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk))
      const m = /metrics on (http:\/\/\S+)/u.exec(String(chunk))
      if (m?.[1] !== undefined) listening?.(m[1])
      return true
    }) as typeof process.stderr.write
    try {
      const fiber = Effect.runFork(
        metricsServeMain(
          { host: "0.0.0.0", port: 0, config: Option.none(), dataDir: Option.none(), json: false },
          { env: {}, cwd }
        ).pipe(Effect.provide(runServices()))
      )
      const served = await url
      expect(lines.join("")).toContain("warning: --host 0.0.0.0 is not a loopback address")
      const port = Number(new URL(served).port)
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200)
      const exit = await Effect.runPromise(Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(await released(port)).toBe(true)
    } finally {
      process.stderr.write = write
    }
  })

  test("metrics serve on a busy port: a UsageError naming --port, and the data dir is not created", async () => {
    const other = await occupy()
    const cwd = fresh()
    try {
      const exit = await Effect.runPromiseExit(
        metricsServeMain(
          { host: "127.0.0.1", port: portOf(other), config: Option.none(), dataDir: Option.none(), json: false },
          { env: {}, cwd }
        ).pipe(Effect.provide(runServices()))
      )
      expect(failureTag(exit)).toBe("UsageError")
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(
        `port ${portOf(other)} on 127.0.0.1 is in use; choose another with --port`
      )
      expect(await Bun.file(`${cwd}/data/marketpipe.db`).exists()).toBe(false)
    } finally {
      await stop(other)
    }
  })
})
