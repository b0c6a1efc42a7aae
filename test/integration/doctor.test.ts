/**
 * `marketpipe doctor` end to end in this process: `doctorMain` over real temp dirs, SQLite files, a PostgreSQL of the
 * harness's, plugins and DuckDB, with the clock set by `TestClock` (no result depends on today's date). The exit code
 * is the one `main.ts` gives the run's outcome; the environment is the test's own, never the process's.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { Command } from "effect/cli"
import { TestClock } from "effect/testing"
import type { Environment } from "../../src/cli/app.ts"
import { doctorMain } from "../../src/cli/commands/doctor.ts"
import { doctorCommand } from "../../src/cli/doctor-tree.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { CURRENT_CONFIG_VERSION } from "../../src/config/schema.ts"
import { postgresLayer, sqliteLayer } from "../../src/repository/layer.ts"
import { capture } from "../support/capture.ts"
import { startPostgres, type TestPostgres } from "../support/postgres.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-doctor-")

/** A Monday in March: the calendar and the clock pass on it. */
const MONDAY = "2026-03-02T15:00:00Z"

interface Found {
  readonly code: number
  readonly stdout: string
  readonly errors: string
  readonly checks: ReadonlyArray<{ readonly name: string; readonly status: string; readonly detail: string }>
}

const runAt = async <E>(iso: string, effect: Effect.Effect<void, E>) => {
  const printed: Array<string> = []
  const { value, stdout } = await capture(async () =>
    exitCodeOf(
      await Effect.runPromiseExit(
        Effect.gen(function* () {
          yield* TestClock.setTime(Date.parse(iso))
          return yield* effect
        }).pipe(Effect.provide(TestClock.layer()))
      ),
      (line) => printed.push(line)
    )
  )
  return { code: value, stdout, errors: printed.join("\n") }
}

/** `doctor --json` in `cwd` with exactly `env`, at `iso`. */
const doctor = async (
  cwd: string,
  env: Environment["env"] = {},
  options: { readonly config?: string; readonly dataDir?: string; readonly at?: string } = {}
): Promise<Found> => {
  const flags = {
    config: Option.fromNullishOr(options.config),
    dataDir: Option.fromNullishOr(options.dataDir),
    json: true
  }
  const r = await runAt(options.at ?? MONDAY, doctorMain(flags, { env: { HOME: cwd, ...env }, cwd }))
  return { ...r, checks: JSON.parse(r.stdout).checks }
}

const check = (found: Found, name: string) => {
  const c = found.checks.find((x) => x.name === name)
  if (c === undefined) throw new Error(`no ${name} check in ${found.stdout}`)
  return c
}

const ALL_CHECKS = [
  "config",
  "repository",
  "data dir",
  "disk",
  "provider fake",
  "duckdb",
  "calendar",
  "clock",
  "metrics port"
]

describe("doctor on a fresh directory", () => {
  test("no config: every check passes or warns, exit 0, and nothing is created", async () => {
    const cwd = fresh()
    const r = await doctor(cwd)
    expect(r.code).toBe(0)
    expect(r.errors).toBe("")
    expect(r.checks.map((c) => c.name)).toEqual(ALL_CHECKS)
    for (const c of r.checks) expect(["pass", "warn"]).toContain(c.status)
    expect(check(r, "config")).toMatchObject({ status: "pass" })
    expect(check(r, "config").detail).toStartWith("defaults")
    expect(check(r, "repository").detail).toBe(
      `SQLite database ${join(cwd, "data", "marketpipe.db")} does not exist yet: it will be created on first run`
    )
    expect(check(r, "repository").status).toBe("warn")
    expect(check(r, "data dir").status).toBe("warn")
    expect(check(r, "data dir").detail).toContain("will be created on first run")
    expect(check(r, "duckdb").status).toBe("pass")
    expect(check(r, "clock").status).toBe("pass")
    expect(check(r, "calendar").detail).toContain("today 2026-03-02 (New York) is a trading day")
    expect(readdirSync(cwd)).toEqual([])
  })

  test("the text report: one line per check, then the counts", async () => {
    const cwd = fresh()
    const flags = { config: Option.none(), dataDir: Option.none(), json: false }
    const r = await runAt(MONDAY, doctorMain(flags, { env: { HOME: cwd }, cwd }))
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(ALL_CHECKS.length + 1)
    expect(lines[0]).toMatch(/^pass {2}config +defaults: no config file/u)
    expect(lines[1]).toMatch(/^warn {2}repository +SQLite database /u)
    // Status, two spaces, the name padded to the longest ("provider fake"), one space: every detail starts at column 20.
    for (const line of lines.slice(0, -1)) expect([line[19], line[20] === " "]).toEqual([" ", false])
    expect(lines.at(-1)).toMatch(/^\d+ passed, \d+ warning\(s\), 0 failed: ready to run$/u)
  })

  test("--json is { checks: [{ name, status, detail }], ok }", async () => {
    const cwd = fresh()
    const r = await doctor(cwd)
    const doc = JSON.parse(r.stdout)
    expect(Object.keys(doc)).toEqual(["checks", "ok"])
    expect(doc.ok).toBe(true)
    for (const c of doc.checks) {
      expect(Object.keys(c)).toEqual(["name", "status", "detail"])
      expect(typeof c.detail).toBe("string")
    }
  })
})

describe("providers and credentials", () => {
  const polygonConfig = (cwd: string) => {
    const file = join(cwd, "marketpipe.yaml")
    writeFileSync(file, "config_version: 2\ningest:\n  provider: polygon\n")
    return file
  }

  test("the ingest provider without its key fails, exit 1; with it set the check passes and the value never prints", async () => {
    const cwd = fresh()
    polygonConfig(cwd)
    const missing = await doctor(cwd)
    expect(missing.code).toBe(1)
    expect(missing.errors).toBe("error: doctor: 1 check(s) failed: provider polygon")
    expect(check(missing, "provider polygon")).toEqual({
      name: "provider polygon",
      status: "fail",
      detail:
        "ingest.provider, plugin loads; credentials: POLYGON_API_KEY missing, MASSIVE_API_KEY missing (either one)"
    })
    expect(missing.checks.map((c) => c.name)).not.toContain("provider fake")
    expect(JSON.parse(missing.stdout).ok).toBe(false)

    const secret = "pk_live_do-not-print-9f8e7d"
    const set = await doctor(cwd, { POLYGON_API_KEY: secret })
    expect(set.code).toBe(0)
    expect(check(set, "provider polygon").status).toBe("pass")
    expect(check(set, "provider polygon").detail).toContain("POLYGON_API_KEY set")
    expect(set.stdout).not.toContain(secret)
    const flags = { config: Option.none(), dataDir: Option.none(), json: false }
    const text = await runAt(MONDAY, doctorMain(flags, { env: { HOME: cwd, MASSIVE_API_KEY: secret }, cwd }))
    expect(text.code).toBe(0)
    expect(text.stdout).toContain("MASSIVE_API_KEY set")
    expect(`${text.stdout}${text.errors}`).not.toContain(secret)
  })

  test("a key from .env counts, as it does for a run", async () => {
    const cwd = fresh()
    polygonConfig(cwd)
    writeFileSync(join(cwd, ".env"), "MASSIVE_API_KEY=from-dotenv\n")
    const r = await doctor(cwd)
    expect(check(r, "provider polygon").status).toBe("pass")
    expect(r.stdout).not.toContain("from-dotenv")
  })

  test("a configured provider that is not the ingest one warns with some keys and fails with none", async () => {
    const cwd = fresh()
    const file = join(cwd, "config.yaml")
    writeFileSync(file, "config_version: 2\nproviders:\n  alpaca: {}\n  finnhub: {}\n  yahoo: {}\n")
    const r = await doctor(cwd, { ALPACA_KEY: "k" }, { config: file })
    expect(r.checks.filter((c) => c.name.startsWith("provider ")).map((c) => [c.name, c.status])).toEqual([
      ["provider fake", "pass"],
      ["provider alpaca", "warn"],
      ["provider finnhub", "fail"],
      ["provider yahoo", "pass"]
    ])
    expect(check(r, "provider alpaca").detail).toBe(
      "configured, plugin loads; credentials: ALPACA_KEY set; ALPACA_SECRET missing"
    )
    expect(r.code).toBe(1)
  })

  test("a third-party plugin loads from a chosen config, and is not imported from one found in the directory", async () => {
    const cwd = fresh()
    const example = resolve(import.meta.dir, "../../examples/plugins/csv-dir/mod.ts")
    const marker = join(cwd, "ran")
    writeFileSync(
      join(cwd, "tattle.ts"),
      `import { writeFileSync } from "node:fs"\nwriteFileSync(${JSON.stringify(marker)}, "imported")\nimport p from ${JSON.stringify(example)}\nexport default { ...p, name: "tattle" }\n`
    )
    const config = "config_version: 2\nplugins: [./tattle.ts]\nproviders:\n  tattle: {}\n"
    writeFileSync(join(cwd, "marketpipe.yaml"), config)
    const found = await doctor(cwd)
    expect(check(found, "provider tattle").status).toBe("fail")
    expect(check(found, "provider tattle").detail).toContain("was found in the working directory")
    expect(existsSync(marker)).toBe(false)

    const chosen = await doctor(cwd, {}, { config: join(cwd, "marketpipe.yaml") })
    expect(check(chosen, "provider tattle")).toEqual({
      name: "provider tattle",
      status: "pass",
      detail: "configured, plugin loads; needs no credentials"
    })
    expect(existsSync(marker)).toBe(true)
  })
})

describe("data dir", () => {
  test("a data dir behind a regular file fails, exit 1, and the other checks still report", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "file"), "not a directory")
    const data = join(cwd, "file", "data")
    const r = await doctor(cwd, {}, { dataDir: data })
    expect(r.code).toBe(1)
    expect(check(r, "data dir")).toEqual({
      name: "data dir",
      status: "fail",
      detail: `${data} cannot be created: ${join(cwd, "file")} is a file, not a directory`
    })
    expect(r.checks.map((c) => c.name)).toEqual(ALL_CHECKS)
    expect(check(r, "disk").detail).toContain(`on the filesystem of ${cwd}`)
  })

  test("an existing data dir passes and keeps only what it had", async () => {
    const cwd = fresh()
    const data = join(cwd, "data")
    mkdirSync(data)
    writeFileSync(join(data, "keep"), "")
    const r = await doctor(cwd, { MARKETPIPE_DATA_DIR: data })
    expect(check(r, "data dir")).toEqual({
      name: "data dir",
      status: "pass",
      detail: `${data} is writable and a rename in it is atomic`
    })
    expect(readdirSync(data)).toEqual(["keep"])
  })
})

describe("a broken config", () => {
  test("the config check fails naming the key; the other checks still report, on the defaults", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 2\ningest:\n  concurrency: 0\n")
    const r = await doctor(cwd)
    expect(r.code).toBe(1)
    expect(check(r, "config").status).toBe("fail")
    expect(check(r, "config").detail).toMatch(/^config ingest\.concurrency: .*\(the checks below use the defaults\)$/u)
    expect(r.checks.map((c) => c.name)).toEqual(ALL_CHECKS)
    expect(r.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["config"])
    expect(r.errors).toBe("error: doctor: 1 check(s) failed: config")
  })

  test("an unknown key and YAML that does not parse fail the config check by name", async () => {
    const cwd = fresh()
    const file = join(cwd, "c.yaml")
    writeFileSync(file, "config_version: 2\ningset: {}\n")
    expect(check(await doctor(cwd, {}, { config: file }), "config").detail).toStartWith("config ingset: unknown key")
    writeFileSync(file, "ingest: [\n")
    expect(check(await doctor(cwd, { MARKETPIPE_CONFIG: file }), "config").detail).toContain("is not valid YAML")
  })

  test("a bad DATABASE_URL fails the config and the repository checks, nothing else", async () => {
    const cwd = fresh()
    const r = await doctor(cwd, { DATABASE_URL: "mysql://db/x" })
    expect(r.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["config", "repository"])
    expect(check(r, "repository").detail).toStartWith("DATABASE_URL: 'mysql://db/x' uses 'mysql:'")
  })
})

describe("config versions", () => {
  test("the file's own version: current passes, older says how to migrate, newer warns, none is read as current", async () => {
    const cwd = fresh()
    const file = join(cwd, "c.yaml")
    writeFileSync(file, `config_version: ${CURRENT_CONFIG_VERSION}\n`)
    expect(check(await doctor(cwd, {}, { config: file }), "config")).toEqual({
      name: "config",
      status: "pass",
      detail: `${file} parses (config_version ${CURRENT_CONFIG_VERSION})`
    })
    writeFileSync(file, "config_version: 1\n")
    expect(check(await doctor(cwd, {}, { config: file }), "config").detail).toBe(
      `${file} parses (config_version 1, read as ${CURRENT_CONFIG_VERSION}; \`marketpipe config migrate ${file}\` rewrites it)`
    )
    writeFileSync(file, "config_version: 9\n")
    const newer = check(await doctor(cwd, {}, { config: file }), "config")
    expect(newer.status).toBe("warn")
    expect(newer.detail).toContain("config_version 9 is newer than this build knows")
    writeFileSync(file, "data_dir: lake\n")
    expect(check(await doctor(cwd, {}, { config: file }), "config").detail).toBe(
      `${file} parses (no config_version: read as version ${CURRENT_CONFIG_VERSION})`
    )
  })
})

describe("calendar and clock on an injected clock", () => {
  test("near the calendar's end: calendar warns, and a clock past 2100 fails", async () => {
    const cwd = fresh()
    const r = await doctor(cwd, {}, { at: "2100-06-01T15:00:00Z" })
    expect(check(r, "calendar").status).toBe("warn")
    expect(check(r, "calendar").detail).toContain("213 day(s) from now")
    expect(check(r, "clock").status).toBe("fail")
    expect(r.code).toBe(1)
  })

  test("past the calendar's end both fail; in 1970 both fail too", async () => {
    const cwd = fresh()
    const past = await doctor(cwd, {}, { at: "2101-02-03T15:00:00Z" })
    expect(check(past, "calendar").status).toBe("fail")
    expect(check(past, "calendar").detail).toContain("2101-02-03")
    expect(check(past, "clock").status).toBe("fail")
    const epoch = await doctor(cwd, {}, { at: "1970-01-01T00:00:00Z" })
    expect(epoch.checks.filter((c) => c.status === "fail").map((c) => c.name)).toEqual(["calendar", "clock"])
  })

  test("config closures count toward today", async () => {
    const cwd = fresh()
    const file = join(cwd, "c.yaml")
    writeFileSync(file, "config_version: 2\ncalendar:\n  closures: [2026-03-02]\n")
    const r = await doctor(cwd, {}, { config: file })
    expect(check(r, "calendar").detail).toContain("today 2026-03-02 (New York) is closed (closure added in config)")
  })
})

describe("repository", () => {
  let postgres: TestPostgres | undefined
  beforeAll(async () => {
    postgres = await startPostgres()
  }, 60_000)
  afterAll(() => postgres?.stop())

  const migrate = <A, E>(layer: Layer.Layer<A, E>) => Effect.runPromise(Effect.scoped(Layer.build(layer)))

  test("a SQLite database a run migrated passes; one behind warns; a file that is no database fails", async () => {
    const cwd = fresh()
    const data = join(cwd, "data")
    const db = join(data, "marketpipe.db")
    await migrate(sqliteLayer(db))
    const migrated = check(await doctor(cwd), "repository")
    expect(migrated.status).toBe("pass")
    expect(migrated.detail).toMatch(/^SQLite database .* reachable, migrated to the latest \((\d+) of \1\)$/u)
    expect(readdirSync(data).sort()).toEqual(["marketpipe.db"])

    const behind = join(cwd, "behind.db")
    const handle = new DatabaseSync(behind)
    handle.exec("CREATE TABLE schema_migrations (migration_id INTEGER PRIMARY KEY, name TEXT, created_at TEXT)")
    handle.exec("INSERT INTO schema_migrations VALUES (1, 'jobs', '2024-01-01'), (2, 'owner', '2024-01-02')")
    handle.close()
    const warned = check(await doctor(cwd, { DATABASE_URL: `sqlite:${behind}` }), "repository")
    expect(warned.status).toBe("warn")
    expect(warned.detail).toContain("at migration 2 of")
    expect(warned.detail).toContain("the next run migrates it")

    const empty = join(cwd, "empty.db")
    new DatabaseSync(empty).close()
    expect(check(await doctor(cwd, { DATABASE_URL: `sqlite:${empty}` }), "repository").detail).toContain(
      "at migration 0 of"
    )

    const junk = join(cwd, "junk.db")
    writeFileSync(junk, "this is not a SQLite database, only some text long enough to have a header ".repeat(4))
    const failed = await doctor(cwd, { DATABASE_URL: `sqlite:${junk}` })
    expect(check(failed, "repository")).toEqual({
      name: "repository",
      status: "fail",
      detail: `SQLite database ${junk} cannot be read: file is not a database`
    })
    expect(failed.code).toBe(1)
    expect(check(await doctor(cwd, { DATABASE_URL: "sqlite::memory:" }), "repository").status).toBe("pass")
  })

  test("PostgreSQL: a fresh database warns it is not migrated (and stays so), a migrated one passes", async () => {
    const url = await (postgres as TestPostgres).newDatabase()
    const cwd = fresh()
    const before = check(await doctor(cwd, { DATABASE_URL: url }), "repository")
    expect(before.status).toBe("warn")
    expect(before.detail).toMatch(/^PostgreSQL at postgres(ql)?:\/\/.*\*\*\*@.* reachable, at migration 0 of \d+/u)
    // Still not migrated: doctor only looked.
    expect(check(await doctor(cwd, { DATABASE_URL: url }), "repository").detail).toContain("at migration 0 of")
    await migrate(postgresLayer(url))
    const after = check(await doctor(cwd, { DATABASE_URL: url }), "repository")
    expect(after.status).toBe("pass")
    expect(after.detail).toMatch(/migrated to the latest \((\d+) of \1\)$/u)
  }, 60_000)

  test("an unreachable PostgreSQL fails, exit 1, with the password masked", async () => {
    const cwd = fresh()
    const r = await doctor(cwd, { DATABASE_URL: "postgres://mp:hunter2-secret@127.0.0.1:1/mp" })
    expect(r.code).toBe(1)
    expect(check(r, "repository")).toMatchObject({ status: "fail" })
    expect(r.stdout).toContain("PostgreSQL at postgres://mp:***@127.0.0.1:1/mp is unreachable")
    expect(r.stdout).not.toContain("hunter2-secret")
  })
})

describe("the doctor command", () => {
  const root = Command.make("marketpipe").pipe(Command.withSubcommands([doctorCommand]))
  const cli = async (argv: ReadonlyArray<string>) => {
    const printed: Array<string> = []
    const { value, stdout } = await capture(async () =>
      exitCodeOf(
        await Effect.runPromiseExit(
          Effect.gen(function* () {
            yield* TestClock.setTime(Date.parse(MONDAY))
            return yield* Command.runWith(root, { version: "test" })(argv)
          }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestClock.layer())))
        ),
        (line) => printed.push(line)
      )
    )
    return { code: value, stdout, errors: printed.join("\n") }
  }

  test("a bad flag exits 2 before any check runs", async () => {
    const r = await cli(["doctor", "--no-such-flag"])
    expect(r.code).toBe(2)
  })

  test("runs from the command tree with the flags it declares", async () => {
    const cwd = fresh()
    // The handler reads the process's environment here: set only what this test needs, and put it back.
    const keys = ["MARKETPIPE_CONFIG", "MARKETPIPE_DATA_DIR", "DATABASE_URL", "MARKETPIPE_METRICS_HOST"] as const
    const saved = keys.map((k) => [k, process.env[k]] as const)
    const file = join(cwd, "c.yaml")
    writeFileSync(file, `config_version: ${CURRENT_CONFIG_VERSION}\n`)
    process.env.MARKETPIPE_CONFIG = file
    process.env.DATABASE_URL = `sqlite:${join(cwd, "x.db")}`
    delete process.env.MARKETPIPE_METRICS_HOST
    try {
      const r = await cli(["doctor", "--json", "--data-dir", join(cwd, "data")])
      const doc = JSON.parse(r.stdout)
      expect(doc.checks.find((c: { name: string }) => c.name === "config").detail).toBe(
        `${file} parses (config_version ${CURRENT_CONFIG_VERSION})`
      )
      expect(doc.checks.find((c: { name: string }) => c.name === "data dir").detail).toContain(join(cwd, "data"))
      expect(existsSync(join(cwd, "x.db"))).toBe(false)
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
