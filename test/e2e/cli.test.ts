import { beforeAll, describe, expect, test } from "bun:test"
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { compiledBinary, root, run, runSource } from "../support/cli.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-cli-")

const ingestArgs = [
  "ohlcv",
  "ingest",
  "--provider",
  "fake",
  "--symbols",
  "AAPL,MSFT,SPY",
  "--start",
  "2024-03-04",
  "--end",
  "2024-03-08"
]

describe("CLI from source", () => {
  test("--help and --version exit 0 and create nothing on disk", () => {
    const cwd = fresh()
    const help = runSource(["--help"], { cwd })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/ohlcv/)
    expect(runSource(["ohlcv", "ingest", "--help"], { cwd }).stdout).toMatch(/--symbols/)
    expect(runSource(["--version"], { cwd }).stdout).toMatch(/0\.1\.0/)
    expect(listFiles(cwd)).toEqual([])
  })

  const badInputs: Array<[string, Array<string>, RegExp, (string | undefined)?, Record<string, string>?]> = [
    ["a path-like symbol", ["--symbols", "../x"], /--symbols: '\.\.\/x' is not a valid symbol/],
    ["start after end", ["--start", "2024-03-09"], /--start: 2024-03-09 is after --end 2024-03-08/],
    ["an unknown provider", ["--provider", "iexx"], /--provider: unknown provider 'iexx'; available: fake/],
    [
      "config_version: 0",
      ["--config", "c.yaml"],
      /config_version: 0 is not supported; supported versions: 1/,
      "config_version: 0\n"
    ],
    ["a missing flag", ["--end", ""], /end|date/],
    [
      "DATABASE_URL with a scheme we do not support",
      [],
      /DATABASE_URL: 'mysql:\/\/u:\*\*\*@db\/x' uses 'mysql:', which MarketPipe does not support; use sqlite:<path> .*postgres:\/\//,
      undefined,
      { DATABASE_URL: "mysql://u:secret@db/x" }
    ],
    [
      "a DATABASE_URL that does not parse",
      [],
      /DATABASE_URL: 'postgres:\/\/::::' is not a valid URL; use sqlite:/,
      undefined,
      { DATABASE_URL: "postgres://::::" }
    ],
    [
      "a database_url in the config with a scheme we do not support",
      ["--config", "c.yaml"],
      /config database_url: .*(sqlite:|postgres)/,
      "database_url: mysql://db/x\n"
    ]
  ]
  for (const [name, override, message, configText, env] of badInputs) {
    test(`${name} exits 2 with a message naming the problem, data dir untouched`, () => {
      const cwd = fresh()
      if (configText !== undefined) writeFileSync(join(cwd, "c.yaml"), configText)
      const args = [...ingestArgs]
      for (let i = 0; i < override.length; i += 2) {
        const at = args.indexOf(override[i] as string)
        if (at >= 0) args[at + 1] = override[i + 1] as string
        else args.push(override[i] as string, override[i + 1] as string)
      }
      const r = runSource(args, { cwd, ...(env === undefined ? {} : { env }) })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toMatch(/secret/u)
      expect(existsSync(join(cwd, "data"))).toBe(false)
    })
  }

  test("failed partitions exit 3 and list the failures", () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "providers:\n  fake:\n    fail_symbols: [MSFT]\n")
    const r = runSource(ingestArgs, { cwd })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(
      /failed:[\s\S]*MSFT\s+2024-03-04\.\.2024-03-08 \(5\)\s+provider fake: synthetic failure for MSFT/
    )
    expect(r.stderr).toMatch(/marketpipe jobs show 1/)
  })
})

describe("compiled binary", () => {
  let binary = ""
  beforeAll(() => {
    binary = compiledBinary()
  })

  test("--help works from any directory", () => {
    const cwd = fresh()
    const r = run(binary, ["--help"], { cwd })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/marketpipe <subcommand>/)
    expect(listFiles(cwd)).toEqual([])
  })

  test("a third-party plugin named in config loads from the binary", () => {
    const cwd = thirdPartySetup()
    const r = run(binary, thirdPartyArgs, { cwd })
    expect(r.stderr).not.toMatch(/error:/i)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).job).toMatchObject({ provider: "csv-dir", state: "succeeded", barsWritten: 2 })
  })

  test("the same ingest runs from a temp directory with no node_modules beside it", async () => {
    const cwd = fresh()
    const r = run(binary, [...ingestArgs, "--json"], { cwd })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).job).toMatchObject({ state: "succeeded", partitionsDone: 15, barsWritten: 5850 })
    const n = await duckdb<{ n: string }>(`SELECT count(*) AS n FROM ${lakeGlob(join(cwd, "data"))}`)
    expect(n[0]?.n).toBe("5850")
  })
})

/** A directory with the example third-party plugin copied outside the repo, its config and one CSV file. */
const thirdPartySetup = () => {
  const cwd = fresh()
  mkdirSync(join(cwd, "bars"))
  cpSync(resolve(root, "examples/plugins/csv-dir"), join(cwd, "csv-dir"), { recursive: true })
  writeFileSync(
    join(cwd, "bars", "SPY.csv"),
    "ts,open,high,low,close,volume\n2024-03-08T14:30:00Z,10,11,9,10.5,100\n2024-03-08T14:31:00Z,10.5,11,10,10.7,200\n"
  )
  writeFileSync(
    join(cwd, "marketpipe.yaml"),
    "config_version: 1\nplugins: [./csv-dir/mod.ts]\nproviders:\n  csv-dir: { dir: ./bars }\n"
  )
  return cwd
}
const thirdPartyArgs = [
  "ohlcv",
  "ingest",
  "--config",
  "marketpipe.yaml",
  "--provider",
  "csv-dir",
  "--symbols",
  "SPY",
  "--start",
  "2024-03-08",
  "--end",
  "2024-03-08",
  "--json"
]

describe("Deno", () => {
  test("a third-party plugin from config loads under Deno too", () => {
    const cwd = thirdPartySetup()
    const r = run(
      resolve(root, "node_modules/deno/deno"),
      ["run", "--allow-all", resolve(root, "src/cli/main.ts"), ...thirdPartyArgs],
      {
        cwd,
        env: { DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(cwd, ".deno") }
      }
    )
    expect(r.stderr).not.toMatch(/error:/i)
    expect(JSON.parse(r.stdout).job).toMatchObject({ provider: "csv-dir", barsWritten: 2 })
  })

  test("the same ingest runs under deno task, and the lake matches Bun's row for row", async () => {
    const denoDir = fresh()
    const bunDir = fresh()
    const deno = run(
      resolve(root, "node_modules/deno/deno"),
      [
        "task",
        "--config",
        resolve(root, "deno.json"),
        "ingest",
        ...ingestArgs.slice(2),
        "--data-dir",
        join(denoDir, "data"),
        "--json"
      ],
      {
        cwd: root,
        env: { DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(denoDir, ".deno") }
      }
    )
    expect(deno.stderr).not.toMatch(/error:/i)
    expect(deno.code).toBe(0)
    expect(runSource([...ingestArgs, "--data-dir", join(bunDir, "data")], { cwd: bunDir }).code).toBe(0)
    const digest = (dir: string) =>
      duckdb<{ h: string; n: string }>(
        `SELECT count(*) AS n, md5(string_agg(concat_ws('|', symbol, ts, open, high, low, close, volume, trade_count, vwap), ',' ORDER BY symbol, ts)) AS h FROM ${lakeGlob(join(dir, "data"))}`
      )
    const [a, b] = [await digest(denoDir), await digest(bunDir)]
    expect(a[0]?.n).toBe("5850")
    expect(a).toEqual(b)
  })
})
