/**
 * The doctor's parts on their own: the report's text and JSON, the check runner (one check breaking never stops the
 * others), and each verdict — credentials, disk, migrations, clock and calendar (on a `TestClock`, never today's
 * date), data dir, metrics port, DuckDB.
 */
import { describe, expect, test } from "bun:test"
import { readdirSync, type StatsFs, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { Effect, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import fake from "../../plugins/fake/mod.ts"
import polygon from "../../plugins/polygon/mod.ts"
import { CalendarConfig } from "../../src/config/schema.ts"
import { type CheckResult, DoctorFailed, fail, pass, runChecks, warn, worst } from "../../src/doctor/check.ts"
import { dataDirCheck, nearestExisting, probeAtomicRename } from "../../src/doctor/data-dir.ts"
import { DISK_FAIL_BYTES, DISK_WARN_BYTES, diskCheck, diskVerdict, formatBytes } from "../../src/doctor/disk.ts"
import { duckdbCheck } from "../../src/doctor/duckdb.ts"
import { doctorJson, formatReport } from "../../src/doctor/format.ts"
import { metricsAddress, metricsPortCheck } from "../../src/doctor/metrics-port.ts"
import {
  configuredProviders,
  credentialGroups,
  credentialsVerdict,
  DEFAULT_PROVIDER,
  isSet,
  providersCheck
} from "../../src/doctor/providers.ts"
import { migrationVerdict } from "../../src/doctor/repository.ts"
import { doctorTarget } from "../../src/doctor/target.ts"
import { calendarCheck, clockCheck } from "../../src/doctor/time.ts"
import { makeCalendar } from "../../src/domain/calendar.ts"
import { UsageError } from "../../src/domain/errors.ts"
import type { ProviderPlugin } from "../../src/providers/contract.ts"
import { QueryEngineError } from "../../src/query/duckdb.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-doctor-unit-")

/** Runs `effect` with the clock stopped at `iso`. */
const at = <A>(iso: string, effect: Effect.Effect<A>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse(iso))
      return yield* effect
    }).pipe(Effect.provide(TestClock.layer()))
  )

const withCredentials = (credentials: ReadonlyArray<string>): ProviderPlugin => ({
  ...fake,
  name: "keyed",
  capabilities: { ...fake.capabilities, credentials }
})

describe("doctor report", () => {
  const results: ReadonlyArray<CheckResult> = [
    pass("config", "/etc/marketpipe.yaml parses (config_version 2)"),
    warn("repository", "will be created on first run"),
    fail("provider polygon", "credentials: POLYGON_API_KEY missing")
  ]

  test("one aligned line per result, then the counts", () => {
    const lines = formatReport(results).split("\n")
    expect(lines[0]).toBe("pass  config           /etc/marketpipe.yaml parses (config_version 2)")
    expect(lines[1]).toBe("warn  repository       will be created on first run")
    expect(lines[2]).toBe("fail  provider polygon credentials: POLYGON_API_KEY missing")
    expect(lines[3]).toBe("1 passed, 1 warning(s), 1 failed")
    expect(formatReport([pass("clock", "fine")])).toBe(
      "pass  clock        fine\n1 passed, 0 warning(s), 0 failed: ready to run"
    )
  })

  test("--json is { checks: [{ name, status, detail }], ok }, and warnings leave ok true", () => {
    expect(doctorJson(results)).toEqual({
      checks: [
        { name: "config", status: "pass", detail: "/etc/marketpipe.yaml parses (config_version 2)" },
        { name: "repository", status: "warn", detail: "will be created on first run" },
        { name: "provider polygon", status: "fail", detail: "credentials: POLYGON_API_KEY missing" }
      ],
      ok: false
    })
    expect(doctorJson(results.slice(0, 2)).ok).toBe(true)
  })

  test("worst status, and the error that exits 1 names the failed checks", () => {
    expect(worst([])).toBe("pass")
    expect(worst(["pass", "warn"])).toBe("warn")
    expect(worst(["warn", "fail", "pass"])).toBe("fail")
    expect(new DoctorFailed({ checks: ["config", "disk"] }).message).toBe("doctor: 2 check(s) failed: config, disk")
  })
})

describe("check runner", () => {
  test("a check that fails or dies is one fail line, and the checks after it still report, in order", async () => {
    const results = await Effect.runPromise(
      runChecks([
        { name: "first", run: Effect.fail(new UsageError({ field: "x", reason: "broken" })) },
        { name: "second", run: Effect.die(new Error("crashed")) },
        { name: "third", run: Effect.succeed([pass("third a", "ok"), warn("third b", "hm")]) },
        { name: "fourth", run: Effect.fail("plain text") },
        { name: "fifth", run: Effect.succeed(pass("fifth", "ok")) }
      ])
    )
    expect(results).toEqual([
      fail("first", "x: broken"),
      expect.objectContaining({ name: "second", status: "fail", detail: expect.stringContaining("crashed") }),
      pass("third a", "ok"),
      warn("third b", "hm"),
      fail("fourth", "plain text"),
      pass("fifth", "ok")
    ])
  })

  test("an interrupted check interrupts the doctor rather than becoming a finding", async () => {
    const exit = await Effect.runPromiseExit(runChecks([{ name: "stopped", run: Effect.interrupt }]))
    expect(exit._tag).toBe("Failure")
  })
})

describe("provider credentials", () => {
  test("Polygon's two names are one credential; other names each stand alone", () => {
    expect(credentialGroups(polygon.capabilities.credentials)).toEqual([["POLYGON_API_KEY", "MASSIVE_API_KEY"]])
    expect(credentialGroups(["ALPACA_KEY", "ALPACA_SECRET"])).toEqual([["ALPACA_KEY"], ["ALPACA_SECRET"]])
    expect(credentialGroups(["MASSIVE_API_KEY"])).toEqual([["MASSIVE_API_KEY"]])
    expect(credentialGroups([])).toEqual([])
  })

  test("a variable of white space is not set", () => {
    expect(isSet({ A: "  " }, "A")).toBe(false)
    expect(isSet({ A: "x" }, "A")).toBe(true)
    expect(isSet({}, "A")).toBe(false)
  })

  test("pass when every credential is met, warn when some, fail when none or when it is the ingest provider", () => {
    expect(credentialsVerdict(fake, {}, true)).toEqual({ status: "pass", detail: "needs no credentials" })
    expect(credentialsVerdict(polygon, { MASSIVE_API_KEY: "k" }, true)).toEqual({
      status: "pass",
      detail: "credentials: POLYGON_API_KEY missing, MASSIVE_API_KEY set (either one)"
    })
    expect(credentialsVerdict(polygon, {}, false).status).toBe("fail")
    const alpaca = withCredentials(["ALPACA_KEY", "ALPACA_SECRET"])
    expect(credentialsVerdict(alpaca, { ALPACA_KEY: "k" }, false)).toEqual({
      status: "warn",
      detail: "credentials: ALPACA_KEY set; ALPACA_SECRET missing"
    })
    expect(credentialsVerdict(alpaca, { ALPACA_KEY: "k" }, true).status).toBe("fail")
    expect(credentialsVerdict(alpaca, { ALPACA_KEY: "k", ALPACA_SECRET: "s" }, true).status).toBe("pass")
  })

  test("the ingest provider (default fake) first, then every providers: key once", () => {
    expect(configuredProviders({})).toEqual([DEFAULT_PROVIDER])
    expect(configuredProviders({ ingest: { provider: "polygon" }, providers: { alpaca: {}, polygon: {} } })).toEqual([
      "polygon",
      "alpaca"
    ])
  })

  test("one result per provider; a plugin that does not load fails that provider only", async () => {
    const results = await Effect.runPromise(
      providersCheck({
        config: { providers: { nope: {}, polygon: {} } },
        env: { POLYGON_API_KEY: "secret-value-1" },
        plugin: (name) =>
          name === "nope"
            ? Effect.fail(new UsageError({ field: "--provider", reason: "unknown provider 'nope'" }))
            : Effect.succeed(name === "polygon" ? polygon : fake)
      })
    )
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["provider fake", "pass"],
      ["provider nope", "fail"],
      ["provider polygon", "pass"]
    ])
    expect(results[1]?.detail).toBe("configured, plugin does not load: unknown provider 'nope'")
    expect(JSON.stringify(results)).not.toContain("secret-value-1")
  })
})

describe("disk", () => {
  test("fail under 1 GiB, warn under 10 GiB, pass above, always with the figure", () => {
    expect(diskVerdict("/d", DISK_FAIL_BYTES - 1, 100 * DISK_WARN_BYTES)).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^1023 MiB free of 1000\.0 GiB on the filesystem of \/d: under 1\.0 GiB/u)
    })
    expect(diskVerdict("/d", DISK_WARN_BYTES - 2 ** 30, 2 * DISK_WARN_BYTES)).toMatchObject({
      status: "warn",
      detail: "9.0 GiB free of 20.0 GiB on the filesystem of /d: under 10.0 GiB"
    })
    expect(diskVerdict("/d", DISK_WARN_BYTES, 2 * DISK_WARN_BYTES).status).toBe("pass")
    expect(formatBytes(512 * 2 ** 20)).toBe("512 MiB")
  })

  test("reads the nearest existing directory's filesystem: free space for users, not root's reserve", async () => {
    const dir = fresh()
    const seen: Array<string> = []
    const statfs = (path: string) => {
      seen.push(path)
      return { bsize: 4096, bavail: 1000, bfree: 10 ** 9, blocks: 10 ** 9 } as StatsFs
    }
    const result = await Effect.runPromise(diskCheck(join(dir, "data", "deeper"), statfs))
    expect(seen).toEqual([dir])
    expect(result.status).toBe("fail")
    writeFileSync(join(dir, "file"), "")
    await Effect.runPromise(diskCheck(join(dir, "file", "data"), statfs))
    expect(seen[1]).toBe(dir)
    const real = await Effect.runPromise(diskCheck(dir))
    expect(real.detail).toContain(`on the filesystem of ${dir}`)
    const broken = await Effect.runPromise(
      Effect.flip(
        diskCheck(dir, () => {
          throw "no statfs"
        })
      )
    )
    expect(broken.message).toBe("no statfs")
  })
})

describe("repository migrations", () => {
  test("latest passes, behind warns that the next run migrates, ahead warns to upgrade", () => {
    expect(migrationVerdict("db", 8, 8)).toEqual(pass("repository", "db reachable, migrated to the latest (8 of 8)"))
    expect(migrationVerdict("db", 3, 8)).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("at migration 3 of 8: the next run migrates it")
    })
    expect(migrationVerdict("db", 9, 8)).toMatchObject({ status: "warn", detail: expect.stringContaining("upgrade") })
  })
})

describe("clock", () => {
  test("passes between 2024-01-01 and 2100-01-01, fails outside", async () => {
    expect(await at("2026-03-02T15:00:00Z", clockCheck)).toEqual(
      pass("clock", "2026-03-02T15:00:00.000Z is after 2024-01-01 and before 2100-01-01")
    )
    expect((await at("2023-12-31T23:59:59Z", clockCheck)).status).toBe("fail")
    expect(await at("2100-01-01T00:00:00Z", clockCheck)).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("the system clock says 2100-01-01T00:00:00.000Z")
    })
    // TestClock starts at the epoch: exactly the clock a dead RTC battery gives.
    expect((await Effect.runPromise(clockCheck.pipe(Effect.provide(TestClock.layer())))).status).toBe("fail")
  })
})

describe("calendar", () => {
  const calendar = makeCalendar()
  const check = (iso: string, config = {}) => at(iso, calendarCheck(calendar, config))
  const days = (calendar: { closures?: Array<string>; early_closes?: Array<string> }) => ({
    calendar: Schema.decodeUnknownSync(CalendarConfig)(calendar)
  })

  test("today's status in New York, and what the calendar covers", async () => {
    expect(await check("2026-03-02T15:00:00Z")).toEqual(
      pass("calendar", "today 2026-03-02 (New York) is a trading day; the calendar covers 1990-01-01 to 2100-12-31")
    )
    // 02:00 UTC on the 26th is still Christmas Day in New York.
    expect((await check("2026-12-26T02:00:00Z")).detail).toContain(
      "today 2026-12-25 (New York) is closed (Christmas Day)"
    )
    expect((await check("2026-11-27T15:00:00Z")).detail).toContain("a trading day closing early")
    expect((await check("2026-03-07T15:00:00Z")).detail).toContain("is a weekend")
  })

  test("warns within a year of the calendar's end, fails past it or before its start", async () => {
    expect(await check("2100-06-01T15:00:00Z")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("213 day(s) from now: upgrade MarketPipe before then")
    })
    expect((await check("2099-12-31T15:00:00Z")).status).toBe("pass")
    expect(await check("2101-01-02T15:00:00Z")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining("today (2101-01-02, New York) is outside it")
    })
    expect((await check("1989-06-01T15:00:00Z")).status).toBe("fail")
  })

  test("config days are counted, and those outside what it covers are a warning", async () => {
    const added = days({ closures: ["2026-07-02"], early_closes: ["2026-07-01"] })
    const withAdded = makeCalendar({ closures: ["2026-07-02"], earlyCloses: ["2026-07-01"] })
    const result = await at("2026-07-02T15:00:00Z", calendarCheck(withAdded, added))
    expect(result.status).toBe("pass")
    expect(result.detail).toContain("closed (closure added in config)")
    expect(result.detail).toContain("(with 2 day(s) added in config)")
    expect(await check("2026-03-02T15:00:00Z", days({ closures: ["1985-01-02"] }))).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("config calendar adds 1985-01-02, outside what it covers")
    })
  })
})

describe("data dir", () => {
  test("an existing writable directory passes, and the probe leaves nothing behind", async () => {
    const dir = fresh()
    expect(await Effect.runPromise(dataDirCheck(dir))).toEqual(
      pass("data dir", `${dir} is writable and a rename in it is atomic`)
    )
    expect(readdirSync(dir)).toEqual([])
  })

  test("a data dir that does not exist yet is a warning, and is not created", async () => {
    const dir = fresh()
    const data = join(dir, "a", "b")
    expect(nearestExisting(data)).toBe(dir)
    expect(await Effect.runPromise(dataDirCheck(data))).toMatchObject({
      status: "warn",
      detail: `${data} does not exist yet: it will be created on first run (${dir} is writable and a rename in it is atomic)`
    })
    expect(readdirSync(dir)).toEqual([])
  })

  test("a path through a file, or a file as the data dir, fails", async () => {
    const dir = fresh()
    writeFileSync(join(dir, "file"), "x")
    expect(await Effect.runPromise(dataDirCheck(join(dir, "file", "data")))).toEqual(
      fail(
        "data dir",
        `${join(dir, "file", "data")} cannot be created: ${join(dir, "file")} is a file, not a directory`
      )
    )
    expect((await Effect.runPromise(dataDirCheck(join(dir, "file")))).detail).toContain("is not a directory")
  })

  test("a directory that takes no files fails, naming why", async () => {
    // Root writes through any mode bits, but nobody creates files in /proc.
    expect(() => probeAtomicRename("/proc/self")).toThrow()
    const result = await Effect.runPromise(dataDirCheck(join("/proc", "self", "data")))
    expect(result.status).toBe("fail")
    expect(result.detail).toMatch(/^\/proc\/self is not writable/u)
  })
})

describe("metrics port", () => {
  const listening = (host: string) =>
    new Promise<Server>((resolve) => {
      const server = createServer()
      server.listen(0, host, () => resolve(server))
    })
  const portOf = (server: Server) => (server.address() as { port: number }).port

  test("host from MARKETPIPE_METRICS_HOST or config metrics.host, port from config metrics.port, else the defaults", () => {
    expect(metricsAddress({}, {})).toEqual({ host: "127.0.0.1", port: 9464 })
    expect(metricsAddress({ metrics: { host: "0.0.0.0", port: 9470 } }, { MARKETPIPE_METRICS_HOST: "::1" })).toEqual({
      host: "::1",
      port: 9470
    })
  })

  test("a free port passes; a busy one warns naming the port; a bad one or an address not here fails", async () => {
    const busy = await listening("127.0.0.1")
    const port = portOf(busy)
    try {
      expect(await Effect.runPromise(metricsPortCheck({ metrics: { port } }, {}))).toMatchObject({
        status: "warn",
        detail: expect.stringContaining(`port ${port} on 127.0.0.1 is in use`)
      })
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
    expect(await Effect.runPromise(metricsPortCheck({ metrics: { port } }, {}))).toEqual(
      pass("metrics port", `127.0.0.1:${port} is free for the metrics endpoint`)
    )
    expect((await Effect.runPromise(metricsPortCheck({ metrics: { port: "http" } }, {}))).detail).toBe(
      'config metrics.port "http" is not a port; use 1 to 65535'
    )
    const away = await Effect.runPromise(metricsPortCheck({ metrics: { host: "192.0.2.1", port } }, {}))
    expect(away).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`cannot listen on 192.0.2.1:${port}`)
    })
  })
})

describe("duckdb", () => {
  test("the binding loads and answers; a binding that does not load fails, saying what needs it", async () => {
    expect(await Effect.runPromise(duckdbCheck({}))).toMatchObject({
      status: "pass",
      detail: expect.stringMatching(/^DuckDB v\S+ loads; SELECT 42 answers 42$/u)
    })
    const broken = await Effect.runPromise(
      duckdbCheck({}, () => Effect.fail(new QueryEngineError({ reason: "could not load DuckDB: no duckdb.node" })))
    )
    expect(broken).toEqual(
      fail("duckdb", "duckdb: could not load DuckDB: no duckdb.node (marketpipe query needs it; nothing else does)")
    )
  })
})

describe("doctor target", () => {
  test("a config that did not load gives the defaults of the flags and environment, built-in plugins only", async () => {
    const failure = Result.fail(new UsageError({ field: "config ingest", reason: "bad" }))
    const target = doctorTarget(failure, { dataDir: undefined, env: { MARKETPIPE_DATA_DIR: "lake" }, cwd: "/w" })
    expect(target.dataDir).toBe("/w/lake")
    expect(await Effect.runPromise(target.databaseUrl)).toBe("sqlite:/w/lake/marketpipe.db")
    expect((await Effect.runPromise(target.plugin("polygon"))).name).toBe("polygon")
    expect((await Effect.runPromise(Effect.flip(target.plugin("nope")))).reason).toContain("unknown provider")
    const badUrl = doctorTarget(failure, { dataDir: "d", env: { DATABASE_URL: "mysql://x" }, cwd: "/w" })
    expect(badUrl.dataDir).toBe("/w/d")
    expect((await Effect.runPromise(Effect.flip(badUrl.databaseUrl))).field).toBe("DATABASE_URL")
  })
})
