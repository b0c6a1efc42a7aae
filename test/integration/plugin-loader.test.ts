import { describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Exit, Option } from "effect"
import { providersListMain, providersMatrixMain } from "../../src/cli/commands/providers.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { loadPlugins } from "../../src/providers/loader.ts"
import { builtinPlugins, findPlugin } from "../../src/providers/registry.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb, lakeGlob } from "../support/lake.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-plugins-")
const example = resolve(import.meta.dir, "../../examples/plugins/csv-dir/mod.ts")
const load = (specs: Array<string>, cwd: string) =>
  Effect.runPromiseExit(loadPlugins(specs, { configFile: join(cwd, "marketpipe.yaml"), cwd, builtin: builtinPlugins }))
const reasonOf = (exit: Exit.Exit<unknown, unknown>) => (Exit.isFailure(exit) ? String(exit.cause) : "")

const writePlugin = (dir: string, name: string, body: string) => {
  writeFileSync(join(dir, name), body)
  return `./${name}`
}

describe("third-party plugins", () => {
  test("the csv-dir example is loaded from config and ingests like a built-in", async () => {
    const cwd = fresh()
    mkdirSync(join(cwd, "bars"))
    writeFileSync(
      join(cwd, "bars", "AAPL.csv"),
      "ts,open,high,low,close,volume,trade_count,vwap\n2024-03-08T14:30:00Z,10,11,9,10.5,100,3,10.2\n1709908260000,10.5,11,10,10.7,200,,\n2024-03-09T14:30:00Z,1,1,1,1,1,,\n"
    )
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      `config_version: 1\nplugins: [${example}]\nproviders:\n  csv-dir: { dir: ${join(cwd, "bars")} }\n`
    )
    const exit = await capture(() =>
      ingestIn(
        cwd,
        ingestFlags({
          config: Option.some("marketpipe.yaml"),
          provider: Option.some("csv-dir"),
          symbols: "AAPL,MSFT",
          start: "2024-03-08",
          end: "2024-03-08"
        })
      )
    )
    expect(Exit.isSuccess(exit.value)).toBe(true)
    const rows = await duckdb<{ ts: string; trade_count: string | null; provider: string }>(
      `SELECT ts::VARCHAR AS ts, trade_count, provider FROM ${lakeGlob(join(cwd, "data"))} ORDER BY ts`
    )
    expect(rows).toEqual([
      { ts: "2024-03-08 14:30:00+00", trade_count: "3", provider: "csv-dir" },
      { ts: "2024-03-08 14:31:00+00", trade_count: null, provider: "csv-dir" }
    ])
    const json = await capture(() =>
      Effect.runPromise(
        providersListMain(
          { config: Option.some("marketpipe.yaml"), dataDir: Option.none(), json: true },
          { env: {}, cwd }
        )
      )
    )
    expect(JSON.parse(json.stdout).find((p: { name: string }) => p.name === "csv-dir")).toMatchObject({
      capabilities: { feeds: ["csv"] }
    })
    const matrix = await capture(() =>
      Effect.runPromise(
        providersMatrixMain(
          { markdown: false, config: Option.some("marketpipe.yaml"), dataDir: Option.none(), json: false },
          { env: {}, cwd }
        )
      )
    )
    expect(matrix.stdout).toMatch(/csv-dir\s+csv \(default\)\s+1m 5m 15m 30m 1h 1d/)
    const listed = await capture(() =>
      Effect.runPromise(
        providersListMain(
          { config: Option.some("marketpipe.yaml"), dataDir: Option.none(), json: false },
          { env: {}, cwd }
        )
      )
    )
    expect(listed.stdout).toMatch(/csv-dir\s+\/.*csv-dir\/mod\.ts\s+csv/)
  })

  test("an npm package name resolves from the working directory's node_modules", async () => {
    const cwd = fresh()
    const pkg = join(cwd, "node_modules", "marketpipe-plugin-demo")
    mkdirSync(pkg, { recursive: true })
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: "marketpipe-plugin-demo", main: "index.js", type: "module" })
    )
    writeFileSync(
      join(pkg, "index.js"),
      `import p from ${JSON.stringify(example)}\nexport default { ...p, name: "demo" }\n`
    )
    const exit = await load(["marketpipe-plugin-demo"], cwd)
    const names = Exit.isSuccess(exit) ? exit.value.map((l) => `${l.plugin.name}:${l.source}`) : []
    expect(names.slice(0, 2)).toEqual(["fake:builtin", "alpaca:builtin"])
    expect(names.at(-1)).toBe("demo:marketpipe-plugin-demo")
  })

  test("missing, malformed, wrong-version and clashing plugins are clear usage errors", async () => {
    const cwd = fresh()
    const cases: Array<[string, RegExp]> = [
      ["./nope.ts", /file .*nope\.ts does not exist/],
      ["not-installed-plugin", /package 'not-installed-plugin' is not installed/],
      [
        writePlugin(cwd, "v4.ts", "export default { contractVersion: 4, name: 'x' }\n"),
        /written for plugin contract v4; this MarketPipe supports v1, v2, v3/
      ],
      [writePlugin(cwd, "none.ts", "export const x = 1\n"), /default export is not a plugin object/],
      [
        writePlugin(cwd, "nomake.ts", "export default { contractVersion: 1, name: 'x', capabilities: {} }\n"),
        /no make\(host, settings\) function/
      ],
      [
        writePlugin(cwd, "badname.ts", "export default { contractVersion: 1, name: 'Bad Name', make() {} }\n"),
        /name must be/
      ],
      [
        writePlugin(
          cwd,
          "badframe.ts",
          "export default { contractVersion: 1, name: 'x', make() {}, capabilities: { feeds: ['a'], defaultFeed: 'a', timeframes: ['2m'], adjustments: [], credentials: [], maxBarsPerRequest: 1, maxSymbolsPerRequest: 1 } }\n"
        ),
        /timeframes has '2m'/
      ],
      [
        writePlugin(
          cwd,
          "badreference.ts",
          "export default { contractVersion: 2, name: 'x', make() {}, capabilities: { feeds: ['a'], defaultFeed: 'a', timeframes: ['1m'], adjustments: [], credentials: [], maxBarsPerRequest: 1, maxSymbolsPerRequest: 1, reference: { pointInTime: 'yes', delisted: false, marketDay: false, detailFields: [] } } }\n"
        ),
        /capabilities.reference.pointInTime must be true or false/
      ],
      [
        writePlugin(
          cwd,
          "badactions.ts",
          "export default { contractVersion: 3, name: 'x', make() {}, capabilities: { feeds: ['a'], defaultFeed: 'a', timeframes: ['1m'], adjustments: [], credentials: [], maxBarsPerRequest: 1, maxSymbolsPerRequest: 1, corporateActions: { splits: true, dividends: 'some' } } }\n"
        ),
        /capabilities.corporateActions.dividends must be true or false/
      ],
      [
        writePlugin(
          cwd,
          "clash.ts",
          `import p from ${JSON.stringify(example)}\nexport default { ...p, name: "alpaca" }\n`
        ),
        /already taken by builtin/
      ],
      [writePlugin(cwd, "throws.ts", "throw new Error('boom at import')\n"), /failed to load: boom at import/]
    ]
    for (const [spec, message] of cases) {
      const exit = await load([spec], cwd)
      expect(reasonOf(exit)).toMatch(message)
      expect(exitCodeOf(exit, () => {})).toBe(2)
    }
  })

  test("IEX Cloud is retired: a clear pointer to Alpaca's IEX feed", () => {
    const found = findPlugin("iex")
    expect(found._tag === "Unknown" && found.error.message).toMatch(
      /shut down on 2024-08-31.*--provider alpaca --feed iex/
    )
  })

  test("docs/providers.md is the generated capability matrix", async () => {
    const cwd = fresh()
    const md = await capture(() =>
      Effect.runPromise(
        providersMatrixMain(
          { markdown: true, config: Option.none(), dataDir: Option.none(), json: false },
          { env: {}, cwd }
        )
      )
    )
    const checkedIn = await Bun.file(resolve(import.meta.dir, "../../docs/providers.md")).text()
    expect(md.stdout).toBe(checkedIn.endsWith("\n") ? checkedIn : `${checkedIn}\n`)
    expect(checkedIn).toMatch(/\| alpaca \| iex \(default\), sip \|/)
    const table = await capture(() =>
      Effect.runPromise(
        providersMatrixMain(
          { markdown: false, config: Option.none(), dataDir: Option.none(), json: true },
          { env: {}, cwd }
        )
      )
    )
    expect(JSON.parse(table.stdout).find((r: Record<string, string>) => r.provider === "alpaca")).toMatchObject({
      "rate limit": "200/60s",
      "max bars/request": "10,000"
    })
  })
})
