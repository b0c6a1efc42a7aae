/**
 * `deno task` against real-looking provider hosts: the emulator on loopback addresses other than 127.0.0.1, which a
 * bare `--allow-net=127.0.0.1,localhost` does not cover. The tasks must grant exactly what the run needs, and a host
 * nobody granted must fail at once with a message that names the missing permission.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join, resolve } from "node:path"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { bunBin, mainTs, root, run, runAsync, runSource } from "../support/cli.ts"
import { lakeDigest } from "../support/lake.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-deno-")
// Each test starts Deno once or twice, from a cold DENO_DIR.
setDefaultTimeout(120_000)
const deno = resolve(root, "node_modules/deno/deno")

let emulator: Emulator // on 127.0.0.2: the configured provider
let stray: Emulator // on 127.0.0.3: a host only an undeclared plugin talks to
let collector: Server // an OTLP/HTTP "collector" on 127.0.0.2 that counts trace exports
let exports = 0
let fakeDigest: { n: string; h: string }

const range = ["--symbols", "AAPL,MSFT", "--from", "2024-03-07", "--to", "2024-03-08"]
const ingestRange = ["--symbols", "AAPL,MSFT", "--start", "2024-03-07", "--end", "2024-03-08"]

beforeAll(async () => {
  emulator = await startEmulator({ host: "127.0.0.2" })
  stray = await startEmulator({ host: "127.0.0.3" })
  collector = createServer((req, res) => {
    if (req.method === "POST" && req.url === "/v1/traces") exports++
    req.resume()
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
  })
  await new Promise<void>((ok) => collector.listen(0, "127.0.0.2", ok))
  const direct = fresh()
  expect(runSource(["ohlcv", "ingest", "--provider", "fake", ...ingestRange], { cwd: direct }).code).toBe(0)
  fakeDigest = await lakeDigest(join(direct, "data"))
})
afterAll(async () => {
  await Promise.all([emulator.stop(), stray.stop(), new Promise<void>((ok) => collector.close(() => ok()))])
})

const denoEnv = (dir: string, env: Record<string, string> = {}) => ({
  DENO_NO_UPDATE_CHECK: "1",
  DENO_DIR: join(dir, ".deno"),
  ...env
})

/** `deno task <task> <args>` from the repository, as a user runs it. */
const task = (dir: string, name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runAsync(deno, ["task", "--config", resolve(root, "deno.json"), name, ...args], {
    cwd: root,
    env: denoEnv(dir, env)
  })

const freePort = async (host: string): Promise<number> => {
  const s = createServer()
  await new Promise<void>((ok) => s.listen(0, host, ok))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((ok) => s.close(() => ok()))
  return port
}

/** `marketpipe.provider.request` spans printed by `--trace console`: one per attempt. */
const requestSpans = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { span: string; attributes: Record<string, unknown> })
    .filter((s) => s.span === "marketpipe.provider.request")

const refusal = (host: string) =>
  `Deno refused network access to ${host}: run with --allow-net=${host} (deno task ingest|backfill|marketpipe grants the configured providers' hosts; MARKETPIPE_DENO_ALLOW_NET adds others)`

/** A third-party plugin that reaches a host it does not declare (Alpaca's wire, hard-wired to `base`). */
const undeclaredPlugin = (dir: string, base: string) => {
  writeFileSync(
    join(dir, "mirror.ts"),
    `import alpaca from ${JSON.stringify(resolve(root, "plugins/alpaca/mod.ts"))}
const { hosts: _undeclared, ...capabilities } = alpaca.capabilities
export default {
  ...alpaca,
  name: "mirror",
  description: "Alpaca's API on a fixed host the plugin does not declare",
  capabilities,
  make: (host, settings) => alpaca.make(host, { ...settings, baseUrl: ${JSON.stringify(base)} })
}
`
  )
  writeFileSync(join(dir, "marketpipe.yaml"), "config_version: 1\nplugins: [./mirror.ts]\n")
  return join(dir, "marketpipe.yaml")
}

describe("deno task reaches the configured providers", () => {
  test("backfill: MARKETPIPE_ALPACA_BASE_URL on 127.0.0.2 and a metrics listener there; the lake has the bars", async () => {
    const dir = fresh()
    const metricsPort = await freePort("127.0.0.2")
    emulator.resetStats()
    const r = await task(
      dir,
      "backfill",
      [
        "--provider",
        "alpaca",
        "--feed",
        "sip",
        ...range,
        "--data-dir",
        join(dir, "data"),
        "--metrics-port",
        `${metricsPort}`
      ],
      { ...alpacaEnv(emulator), MARKETPIPE_METRICS_HOST: "127.0.0.2" }
    )
    expect(r.stderr).not.toMatch(/error|refused/i)
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`metrics on http://127.0.0.2:${metricsPort}/metrics`)
    expect(emulator.stats().byProvider.alpaca ?? 0).toBeGreaterThan(0)
    expect(await lakeDigest(join(dir, "data"))).toEqual(fakeDigest)
  })

  test("ingest: providers.alpaca.base_url from --config, traces to an OTLP endpoint on 127.0.0.2", async () => {
    const dir = fresh()
    writeFileSync(join(dir, "mp.yaml"), `config_version: 1\nproviders:\n  alpaca:\n    base_url: ${emulator.url}\n`)
    const { MARKETPIPE_ALPACA_BASE_URL: _viaConfig, ...keys } = alpacaEnv(emulator)
    const before = exports
    const r = await task(
      dir,
      "ingest",
      [
        "--provider",
        "alpaca",
        "--feed",
        "sip",
        ...ingestRange,
        "--config",
        join(dir, "mp.yaml"),
        "--data-dir",
        join(dir, "data")
      ],
      { ...keys, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.2:${(collector.address() as AddressInfo).port}` }
    )
    expect(r.stderr).not.toMatch(/error|refused/i)
    expect(r.code).toBe(0)
    expect(await lakeDigest(join(dir, "data"))).toEqual(fakeDigest)
    expect(exports).toBeGreaterThan(before)
  })
})

describe("a host nobody granted fails at once, naming the permission", () => {
  test("a plugin's undeclared host: one attempt, exit 1, the message says what to grant", async () => {
    const dir = fresh()
    const config = undeclaredPlugin(dir, stray.url)
    const host = new URL(stray.url).host
    stray.resetStats()
    const r = await task(
      dir,
      "backfill",
      [
        "--provider",
        "mirror",
        "--feed",
        "sip",
        ...range,
        "--config",
        config,
        "--data-dir",
        join(dir, "data"),
        "--trace",
        "console"
      ],
      alpacaEnv(emulator)
    )
    expect(r.stderr).toContain(`provider mirror: ${refusal(host)} (GET /v2/stocks/bars)`)
    expect(r.stderr).not.toMatch(/gave up after|Transport error/)
    expect(r.code).toBe(1)
    const spans = requestSpans(r.stderr)
    expect(spans.length).toBe(1)
    expect(spans[0]?.attributes["marketpipe.attempt"]).toBe(1)
    expect(spans[0]?.attributes["error.type"]).toBe("permission_denied")
    expect(stray.stats().requests).toBe(0)
  })

  test("MARKETPIPE_DENO_ALLOW_NET grants it, and the same run succeeds", async () => {
    const dir = fresh()
    const config = undeclaredPlugin(dir, stray.url)
    const r = await task(
      dir,
      "backfill",
      ["--provider", "mirror", "--feed", "sip", ...range, "--config", config, "--data-dir", join(dir, "data")],
      { ...alpacaEnv(emulator), MARKETPIPE_DENO_ALLOW_NET: new URL(stray.url).host }
    )
    expect(r.stderr).not.toMatch(/error|refused/i)
    expect(r.code).toBe(0)
    expect(await lakeDigest(join(dir, "data"))).toEqual(fakeDigest)
  })

  test("the CLI run by hand with the old loopback-only grant: one attempt, the same clear error", async () => {
    const dir = fresh()
    const r = await runAsync(
      deno,
      [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "--allow-net=127.0.0.1,localhost",
        resolve(root, "src/cli/main.ts"),
        "ohlcv",
        "backfill",
        "--provider",
        "alpaca",
        "--feed",
        "sip",
        ...range,
        "--data-dir",
        join(dir, "data"),
        "--trace",
        "console"
      ],
      { cwd: root, env: denoEnv(dir, alpacaEnv(emulator)) }
    )
    expect(r.stderr).toContain(`provider alpaca: ${refusal(new URL(emulator.url).host)} (GET /v2/stocks/bars)`)
    expect(r.code).toBe(1)
    expect(requestSpans(r.stderr).length).toBe(1)
  })
})

describe("signals reach the CLI through deno task and the launcher", () => {
  let slow: Emulator // answers after a minute: the run is in flight when the signal comes
  beforeAll(async () => {
    slow = await startEmulator({ host: "127.0.0.4", faults: { latencyMs: 60_000 } })
  })
  afterAll(() => slow.stop())

  const cases: Array<[string, NodeJS.Signals, "group" | "task"]> = [
    ["Ctrl-C (SIGINT to the whole process group)", "SIGINT", "group"],
    ["SIGTERM to the deno task process", "SIGTERM", "task"]
  ]
  for (const [name, signal, target] of cases) {
    test(`${name}: the run is interrupted cleanly, exit 130, the job is not left running`, async () => {
      const dir = fresh()
      slow.resetStats()
      const child = spawn(
        deno,
        [
          "task",
          "--config",
          resolve(root, "deno.json"),
          "backfill",
          "--provider",
          "alpaca",
          "--feed",
          "sip",
          ...range,
          "--data-dir",
          join(dir, "data")
        ],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...denoEnv(dir, alpacaEnv(slow)) },
          detached: true,
          stdio: ["ignore", "ignore", "pipe"]
        }
      )
      let stderr = ""
      child.stderr.on("data", (d) => {
        stderr += String(d)
      })
      const exited = new Promise<number>((ok) =>
        child.on("close", (code, sig) => ok(code ?? (sig === null ? -1 : 128)))
      )
      const deadline = Date.now() + 60_000
      while (slow.stats().requests === 0 && Date.now() < deadline) await Bun.sleep(50)
      expect(slow.stats().requests).toBeGreaterThan(0)
      process.kill(target === "group" ? -(child.pid as number) : (child.pid as number), signal)
      expect(await exited).toBe(130)
      expect(stderr).not.toMatch(/Uncaught|panicked/)
      const jobs = run(bunBin, [mainTs, "jobs", "list", "--json", "--data-dir", join(dir, "data")], { cwd: dir })
      const [job] = JSON.parse(jobs.stdout) as Array<{ state: string; finishedAt: string | null }>
      expect(job?.state).not.toBe("running")
      expect(job?.finishedAt).not.toBeNull()
    })
  }
})
