/**
 * A plugin is code that runs with the user's credentials: it is imported only when a command needs that provider,
 * and only from a config the user chose. The plugin here leaves a marker file when its module is evaluated, which is
 * what an attacker's top-level code would do first.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Effect, Exit, Option } from "effect"
import { jobsListMain } from "../../src/cli/commands/jobs.ts"
import { ledgerMain } from "../../src/cli/commands/ledger.ts"
import { metricsShowMain } from "../../src/cli/commands/metrics.ts"
import { providersListMain } from "../../src/cli/commands/providers.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-trust-")
const example = resolve(import.meta.dir, "../../examples/plugins/csv-dir/mod.ts")

/** A working directory with a plugin that writes `ran` when imported, named in `config.yaml` and `marketpipe.yaml`. */
function setup() {
  const cwd = fresh()
  const marker = join(cwd, "ran")
  writeFileSync(
    join(cwd, "tattle.ts"),
    `import { writeFileSync } from "node:fs"\nwriteFileSync(${JSON.stringify(marker)}, "imported")\nimport p from ${JSON.stringify(example)}\nexport default { ...p, name: "tattle" }\n`
  )
  const config = `config_version: 1\nplugins: [./tattle.ts]\nproviders:\n  tattle: { dir: ${JSON.stringify(join(cwd, "bars"))} }\n`
  writeFileSync(join(cwd, "marketpipe.yaml"), config)
  writeFileSync(join(cwd, "config.yaml"), config)
  mkdirSync(join(cwd, "bars"))
  writeFileSync(join(cwd, "bars", "AAPL.csv"), "ts,open,high,low,close,volume\n2024-03-08T14:30:00Z,10,11,9,10.5,100\n")
  return { cwd, ran: () => existsSync(marker) }
}

const common = (config?: string) => ({
  config: config === undefined ? Option.none() : Option.some(config),
  dataDir: Option.none(),
  json: true
})

const commandsThatNeedNoProvider = (config?: string) => ({
  "jobs list": (cwd: string) => jobsListMain({ ...common(config), limit: 5 }, { env: {}, cwd }),
  ledger: (cwd: string) =>
    ledgerMain(
      {
        ...common(config),
        symbols: Option.none(),
        from: Option.none(),
        to: Option.none(),
        frame: Option.none(),
        session: Option.none(),
        days: false
      },
      { env: {}, cwd }
    ),
  "metrics show": (cwd: string) =>
    metricsShowMain({ ...common(config), metric: Option.none(), since: Option.none() }, { env: {}, cwd })
})

describe("plugins are code", () => {
  test("commands that only read the repository or the lake never import a plugin, even from a chosen config", async () => {
    for (const [name, run] of Object.entries(commandsThatNeedNoProvider("config.yaml"))) {
      const { cwd, ran } = setup()
      const exit = await capture(() => Effect.runPromiseExit(run(cwd)))
      expect(Exit.isSuccess(exit.value), name).toBe(true)
      expect(ran(), name).toBe(false)
    }
  })

  test("a built-in provider needs no configured plugin imported", async () => {
    const { cwd, ran } = setup()
    const run = await capture(() =>
      ingestIn(
        cwd,
        ingestFlags({ config: Option.some("config.yaml"), symbols: "AAPL", start: "2024-03-08", end: "2024-03-08" })
      )
    )
    expect(Exit.isSuccess(run.value)).toBe(true)
    expect(ran()).toBe(false)
  })

  test("a config found in the working directory is not trusted to run code", async () => {
    const { cwd, ran } = setup()
    const asked = await capture(() =>
      ingestIn(
        cwd,
        ingestFlags({ provider: Option.some("tattle"), symbols: "AAPL", start: "2024-03-08", end: "2024-03-08" })
      )
    )
    expect(exitCodeOf(asked.value, () => {})).toBe(2)
    expect(String(Exit.isFailure(asked.value) ? asked.value.cause : "")).toMatch(
      /config plugins: .*marketpipe\.yaml was found in the working directory, so the plugins it names are not loaded .*pass --config/u
    )
    expect(existsSync(join(cwd, "data"))).toBe(false)
    // A MARKETPIPE_CONFIG that the working directory's .env sets is found there too, not chosen.
    writeFileSync(join(cwd, ".env"), "MARKETPIPE_CONFIG=config.yaml\n")
    const viaDotEnv = await capture(() =>
      ingestIn(
        cwd,
        ingestFlags({ provider: Option.some("tattle"), symbols: "AAPL", start: "2024-03-08", end: "2024-03-08" })
      )
    )
    expect(exitCodeOf(viaDotEnv.value, () => {})).toBe(2)
    for (const [name, run] of Object.entries(commandsThatNeedNoProvider())) {
      expect(Exit.isSuccess((await capture(() => Effect.runPromiseExit(run(cwd)))).value), name).toBe(true)
    }
    const listed = await capture(() => Effect.runPromiseExit(providersListMain(common(), { env: {}, cwd })))
    expect(listed.stderr).toMatch(/1 plugin\(s\) named in .*config\.yaml not loaded/u)
    expect(JSON.parse(listed.stdout).map((p: { name: string }) => p.name)).not.toContain("tattle")
    expect(ran()).toBe(false)
  })

  test("a chosen config's plugin is imported when its provider is asked for", async () => {
    const { cwd, ran } = setup()
    const run = await capture(() =>
      ingestIn(
        cwd,
        ingestFlags({
          config: Option.some("config.yaml"),
          provider: Option.some("tattle"),
          symbols: "AAPL",
          start: "2024-03-08",
          end: "2024-03-08"
        })
      )
    )
    expect(ran()).toBe(true)
    expect(JSON.parse(run.stdout).job).toMatchObject({ provider: "tattle", barsWritten: 1 })
    const viaEnv = setup()
    const listed = await capture(() =>
      Effect.runPromiseExit(providersListMain(common(), { env: { MARKETPIPE_CONFIG: "config.yaml" }, cwd: viaEnv.cwd }))
    )
    expect(JSON.parse(listed.stdout).map((p: { name: string }) => p.name)).toContain("tattle")
    expect(viaEnv.ran()).toBe(true)
  })
})
