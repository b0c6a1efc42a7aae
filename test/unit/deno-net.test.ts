/** What `deno task` grants with `--allow-net`: computed from the same config, environment and flags the CLI reads. */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { EXTRA_HOSTS_VAR, hostOf, loopbackHosts, type NetRequest, netGrant } from "../../scripts/deno/net.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-deno-net-")

/** The built-in plugins' default hosts, in registry order (fake needs none). */
const builtinDefaults = [
  "data.alpaca.markets:443",
  "paper-api.alpaca.markets:443",
  "api.massive.com:443",
  "finnhub.io:443",
  "query2.finance.yahoo.com:443"
]

const grant = (over: Partial<NetRequest> & { files?: Record<string, string> } = {}) => {
  const cwd = over.cwd ?? fresh()
  for (const [name, text] of Object.entries(over.files ?? {})) writeFileSync(join(cwd, name), text)
  return Effect.runPromise(netGrant({ argv: over.argv ?? ["ohlcv", "backfill"], env: over.env ?? {}, cwd }))
}

describe("hostOf", () => {
  test("URLs become host:port with the scheme's port; host[:port] passes; anything else is refused", () => {
    expect(hostOf("https://data.alpaca.markets")).toBe("data.alpaca.markets:443")
    expect(hostOf("http://127.0.0.2:8099/v2")).toBe("127.0.0.2:8099")
    expect(hostOf("http://Example.COM/x")).toBe("example.com:80")
    expect(hostOf("http://[fd00::1]:8080")).toBe("[fd00::1]:8080")
    expect(hostOf("postgres://u:secret@db.internal/marketpipe")).toBe("db.internal:5432")
    expect(hostOf("postgresql://db.internal:6543/x")).toBe("db.internal:6543")
    expect(hostOf(" api.example.com ")).toBe("api.example.com")
    expect(hostOf("api.example.com:8443")).toBe("api.example.com:8443")
    expect(hostOf("[::1]:9000")).toBe("[::1]:9000")
    for (const bad of ["", "bad host", "http://", "a.example:99999", "-x.example", "ftp:/x", "*"]) {
      expect(hostOf(bad)).toBeUndefined()
    }
  })
})

describe("netGrant", () => {
  test("no config: loopback and every built-in provider's default host", async () => {
    expect(await grant()).toEqual({ hosts: [...loopbackHosts, ...builtinDefaults], warnings: [] })
  })

  test("a base URL from the environment replaces that provider's defaults", async () => {
    const { hosts } = await grant({ env: { MARKETPIPE_ALPACA_BASE_URL: "http://127.0.0.2:8099" } })
    expect(hosts).toEqual([
      ...loopbackHosts,
      "127.0.0.2:8099",
      "api.massive.com:443",
      "finnhub.io:443",
      "query2.finance.yahoo.com:443"
    ])
  })

  test("./marketpipe.yaml base_url and URL-valued plugin options; the environment wins over the file", async () => {
    const { hosts } = await grant({
      files: {
        "marketpipe.yaml":
          "providers:\n  polygon:\n    base_url: https://polygon.proxy.internal:8443\n  alpaca:\n    base_url: https://alpaca.proxy.internal\n    trading_base_url: https://trading.proxy.internal\n  yahoo:\n    base_url: http://yahoo.file\n"
      },
      env: { MARKETPIPE_YAHOO_BASE_URL: "http://127.0.0.9:7000" }
    })
    expect(hosts).toEqual([
      ...loopbackHosts,
      "alpaca.proxy.internal:443",
      "trading.proxy.internal:443",
      "polygon.proxy.internal:8443",
      "finnhub.io:443",
      "127.0.0.9:7000"
    ])
  })

  test("the config is found like the CLI finds it: --config, --config=, MARKETPIPE_CONFIG, .env", async () => {
    const cwd = fresh()
    mkdirSync(join(cwd, "conf"))
    writeFileSync(join(cwd, "conf", "a.yaml"), "providers:\n  finnhub:\n    base_url: http://a.example:1\n")
    writeFileSync(join(cwd, "conf", "b.yaml"), "providers:\n  finnhub:\n    base_url: http://b.example:2\n")
    writeFileSync(join(cwd, "marketpipe.yaml"), "providers:\n  finnhub:\n    base_url: http://implicit.example:3\n")
    const finnhubOf = async (argv: Array<string>, env: Record<string, string> = {}) =>
      (await Effect.runPromise(netGrant({ argv, env, cwd }))).hosts.filter(
        (h) =>
          h.endsWith(".example:1") || h.endsWith(".example:2") || h.endsWith(".example:3") || h.endsWith(".example:4")
      )
    expect(await finnhubOf(["ohlcv", "ingest", "--config", "conf/a.yaml"])).toEqual(["a.example:1"])
    expect(await finnhubOf(["ohlcv", "ingest", "--config=conf/b.yaml"])).toEqual(["b.example:2"])
    expect(await finnhubOf(["worker"], { MARKETPIPE_CONFIG: "conf/b.yaml" })).toEqual(["b.example:2"])
    expect(await finnhubOf(["worker"])).toEqual(["implicit.example:3"])
    writeFileSync(join(cwd, ".env"), "MARKETPIPE_FINNHUB_BASE_URL=http://dotenv.example:4\n")
    expect(await finnhubOf(["worker"])).toEqual(["dotenv.example:4"])
  })

  test("a third-party plugin is never imported to ask: its base_url, URL options or base-URL variable are granted", async () => {
    const cwd = fresh()
    const marker = join(cwd, "imported")
    writeFileSync(
      join(cwd, "p.ts"),
      `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x")\nexport default { contractVersion: 1, name: 'thirdparty', description: 'x', make() {}, capabilities: { feeds: ['a'], defaultFeed: 'a', timeframes: ['1m'], adjustments: [], credentials: [], maxBarsPerRequest: 1, maxSymbolsPerRequest: 1, historyDays: null, rateLimit: null, hosts: ['https://api.thirdparty.example'] } }\n`
    )
    writeFileSync(join(cwd, "marketpipe.yaml"), "plugins: [./p.ts]\n")
    expect((await grant({ cwd })).hosts).not.toContain("api.thirdparty.example:443")
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "plugins: [./p.ts]\nproviders:\n  thirdparty:\n    base_url: http://127.0.0.5:81\n    stream_url: https://ws.thirdparty.example:9443/v1\n"
    )
    expect((await grant({ cwd })).hosts.slice(-2)).toEqual(["127.0.0.5:81", "ws.thirdparty.example:9443"])
    const viaEnv = await grant({
      cwd: fresh(),
      env: { MARKETPIPE_THIRDPARTY_BASE_URL: "https://eu.thirdparty.example" }
    })
    expect(viaEnv.hosts).toContain("eu.thirdparty.example:443")
    expect(existsSync(marker)).toBe(false)
  })

  test("the OTLP endpoint when traces go there", async () => {
    const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector.internal:4318" }
    expect((await grant({ env: otlp })).hosts).toContain("collector.internal:4318")
    expect((await grant({ env: otlp, argv: ["ohlcv", "ingest", "--trace", "off"] })).hosts).not.toContain(
      "collector.internal:4318"
    )
    expect((await grant({ env: { ...otlp, OTEL_SDK_DISABLED: "true" } })).hosts).not.toContain(
      "collector.internal:4318"
    )
    expect(
      (await grant({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otlp.example.com/v1/traces" } })).hosts
    ).toContain("otlp.example.com:443")
  })

  test("the metrics listener: --metrics-port on MARKETPIPE_METRICS_HOST or metrics.host; metrics serve --host/--port", async () => {
    const extra = async (over: Partial<NetRequest> & { files?: Record<string, string> }) =>
      (await grant(over)).hosts.filter((h) => ![...loopbackHosts, ...builtinDefaults].includes(h))
    const env = { MARKETPIPE_METRICS_HOST: "0.0.0.0" }
    expect(await extra({ argv: ["worker", "--metrics-port", "9470"], env })).toEqual(["0.0.0.0:9470"])
    expect(await extra({ argv: ["ohlcv", "backfill", "--metrics-port=9471"], env })).toEqual(["0.0.0.0:9471"])
    expect(await extra({ argv: ["worker", "--metrics-port", "0"], env })).toEqual(["0.0.0.0"])
    expect(
      await extra({
        argv: ["worker", "--metrics-port", "9472"],
        files: { "marketpipe.yaml": "metrics:\n  host: 10.0.0.5\n" }
      })
    ).toEqual(["10.0.0.5:9472"])
    // The default listener is on loopback, which is granted already.
    expect(await extra({ argv: ["worker", "--metrics-port", "9473"] })).toEqual([])
    expect(await extra({ argv: ["metrics", "serve", "--host", "0.0.0.0", "--port", "9999"] })).toEqual(["0.0.0.0:9999"])
    expect(await extra({ argv: ["metrics", "serve", "--host=192.168.1.4"] })).toEqual(["192.168.1.4:9464"])
    // After `--` nothing is a flag.
    expect(await extra({ argv: ["worker", "--", "--metrics-port", "9474"], env })).toEqual([])
  })

  test("a Postgres database host, without its password", async () => {
    const r = await grant({ env: { DATABASE_URL: "postgres://mp:s3cret-pw@db.internal/marketpipe" } })
    expect(r.hosts).toContain("db.internal:5432")
    expect(JSON.stringify(r).includes("s3cret-pw")).toBe(false)
    const fromFile = await grant({ files: { "marketpipe.yaml": "database_url: postgresql://pg.internal:6432/mp\n" } })
    expect(fromFile.hosts).toContain("pg.internal:6432")
  })

  test(`${EXTRA_HOSTS_VAR} adds hosts; entries that are not hosts are reported, not granted`, async () => {
    const r = await grant({
      env: { [EXTRA_HOSTS_VAR]: "api.example.com, https://other.example:8443/x,bad host,,127.0.0.1:9000" }
    })
    expect(r.hosts).toEqual([...loopbackHosts, ...builtinDefaults, "api.example.com", "other.example:8443"])
    expect(r.warnings).toEqual([`${EXTRA_HOSTS_VAR}: 'bad host' is not a host, host:port or URL; ignored`])
  })

  test("a config the CLI will reject still gets the defaults (the CLI reports the problem itself)", async () => {
    for (const text of ["providers: [\n", "config_version: 0\n", "unknown_key: 1\n"]) {
      expect((await grant({ files: { "marketpipe.yaml": text } })).hosts).toEqual([
        ...loopbackHosts,
        ...builtinDefaults
      ])
    }
    expect((await grant({ argv: ["ohlcv", "ingest", "--config", "missing.yaml"] })).hosts).toEqual([
      ...loopbackHosts,
      ...builtinDefaults
    ])
  })
})
