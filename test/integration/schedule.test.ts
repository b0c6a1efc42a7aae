/**
 * `schedule generate` through its handler and its command tree, checked by the programs that will read what it
 * writes: the real `systemd-analyze verify` accepts the units (and catches a broken one), `systemd-analyze calendar`
 * has the last word on `OnCalendar=`, `sh` runs the crontab line with exactly the arguments asked for, effect's
 * `Cron` reads its times. Bad flags exit 2 naming the flag and write nothing; the checked-in samples under
 * `scripts/systemd/` and `scripts/cron/` are what the generator writes.
 *
 * Needs `systemd-analyze` on PATH (Debian/Ubuntu package `systemd`; `.ci/run` installs it): without it the tests that
 * use it fail, they never skip.
 */
import { describe, expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { Cause, Cron, Effect, Exit, Option, Result } from "effect"
import { Command } from "effect/cli"
import { samples, writeSamples } from "../../scripts/systemd/samples.ts"
import { type ScheduleGenerateFlags, scheduleGenerateMain } from "../../src/cli/commands/schedule.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { scheduleCommand } from "../../src/cli/schedule-tree.ts"
import { UsageError } from "../../src/domain/errors.ts"
import { capture } from "../support/capture.ts"
import { root as repoRoot } from "../support/cli.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-schedule-")

/** `systemd-analyze`, or a failure saying how to get it: this file never skips what it cannot check. */
function systemdAnalyze(): string {
  const tool = Bun.which("systemd-analyze")
  if (tool === null) {
    throw new Error(
      "systemd-analyze is not on PATH: install the systemd package (apt-get install -y systemd) to run these tests; .ci/run installs it"
    )
  }
  return tool
}

/** An executable stand-in for marketpipe: prints its arguments one a line (to $MP_ARGS_OUT) and one credential. */
function fakeBinary(dir: string): string {
  const path = join(dir, "bin", "marketpipe")
  mkdirSync(join(dir, "bin"), { recursive: true })
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > "$MP_ARGS_OUT"\necho "ran with key \${MP_TEST_KEY:-none}"\n`, {
    mode: 0o755
  })
  return path
}

const none = Option.none<string>()

const flagsFor = (dir: string, over: Partial<ScheduleGenerateFlags> = {}): ScheduleGenerateFlags => ({
  kind: "systemd",
  name: "mp-test",
  command: "ohlcv backfill --universe core --lookback 5d",
  onCalendar: Option.some("Mon..Fri 18:30 America/New_York"),
  out: none,
  envFile: none,
  user: none,
  binary: Option.some(fakeBinary(dir)),
  randomizedDelay: none,
  workingDir: none,
  log: none,
  config: Option.some(join(dir, "marketpipe.yaml")),
  dataDir: Option.some(join(dir, "data")),
  json: false,
  ...over
})

const environmentOf = (dir: string, env: Record<string, string | undefined> = {}) => ({
  env: { PATH: process.env.PATH, ...env },
  cwd: dir
})

/** The handler run in this process: its exit, what it printed, and its `UsageError` if it failed with one. */
async function generate(flags: ScheduleGenerateFlags, environment: ReturnType<typeof environmentOf>) {
  const {
    value: exit,
    stdout,
    stderr
  } = await capture(() => Effect.runPromiseExit(scheduleGenerateMain(flags, environment)))
  const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
  return { exit, stdout, stderr, error: error instanceof UsageError ? error : undefined }
}

/** `marketpipe schedule …` through the command tree (a root holding `scheduleCommand`), with the CLI's exit codes. */
const cliRoot = Command.make("marketpipe").pipe(Command.withSubcommands([scheduleCommand]))
async function cli(...argv: Array<string>) {
  const printed: Array<string> = []
  const { value, stdout, stderr } = await capture(() =>
    Effect.runPromiseExit(Command.runWith(cliRoot, { version: "test" })(argv).pipe(Effect.provide(NodeServices.layer)))
  )
  return { code: exitCodeOf(value, (line) => printed.push(line)), stdout, stderr, errors: printed.join("\n") }
}

/** `systemd-analyze verify` on unit files: its exit code and the output lines about these units. */
function verify(files: ReadonlyArray<string>, names: ReadonlyArray<string>) {
  const run = spawnSync(systemdAnalyze(), ["verify", ...files], { encoding: "utf8", timeout: 60_000 })
  const output = `${run.stdout}${run.stderr}`
  const problems = output.split("\n").filter((line) => names.some((name) => line.includes(name)))
  return { code: run.status, output, problems }
}

describe("systemd units, as systemd reads them", () => {
  test("systemd-analyze verify accepts a job's .service and .timer, quoted arguments and % included", async () => {
    const dir = fresh()
    const out = join(dir, "units")
    const r = await generate(
      flagsFor(dir, {
        name: "mp-query",
        command: `query "SELECT 100% AS pct, 'a b' AS s" --csv`,
        user: Option.some("marketpipe"),
        out: Option.some(out)
      }),
      environmentOf(dir)
    )
    expect(Exit.isSuccess(r.exit)).toBe(true)
    expect(listFiles(out)).toEqual(["mp-query.service", "mp-query.timer"])
    const result = verify([join(out, "mp-query.service"), join(out, "mp-query.timer")], ["mp-query", out])
    expect({ code: result.code, problems: result.problems }).toEqual({ code: 0, problems: [] })
  })

  test("systemd-analyze verify accepts the long-running metrics serve service, which has no timer", async () => {
    const dir = fresh()
    const out = join(dir, "units")
    const r = await generate(
      flagsFor(dir, {
        name: "mp-metrics",
        command: "metrics serve --port 9470",
        onCalendar: none,
        out: Option.some(out)
      }),
      environmentOf(dir)
    )
    expect(Exit.isSuccess(r.exit)).toBe(true)
    expect(listFiles(out)).toEqual(["mp-metrics.service"])
    const result = verify([join(out, "mp-metrics.service")], ["mp-metrics", out])
    expect({ code: result.code, problems: result.problems }).toEqual({ code: 0, problems: [] })
    expect(readFileSync(join(out, "mp-metrics.service"), "utf8")).toContain("Type=simple\nRestart=on-failure\n")
  })

  test("the check is real: verify fails a unit whose binary does not exist, naming the unit", async () => {
    const dir = fresh()
    const out = join(dir, "units")
    const missing = join(dir, "nowhere", "marketpipe")
    await generate(flagsFor(dir, { binary: Option.some(missing), out: Option.some(out) }), environmentOf(dir))
    const result = verify([join(out, "mp-test.service")], ["mp-test"])
    expect(result.code).not.toBe(0)
    expect(result.problems.join("\n")).toContain(missing)
  })

  test("the checked-in samples pass verify too, with a binary that exists in place of /usr/local/bin/marketpipe", () => {
    const dir = fresh()
    const binary = fakeBinary(dir)
    const files = ["marketpipe-backfill.service", "marketpipe-backfill.timer", "marketpipe-metrics.service"]
    for (const name of files) {
      const sample = readFileSync(join(repoRoot, "scripts/systemd", name), "utf8")
      writeFileSync(join(dir, name), sample.replaceAll("/usr/local/bin/marketpipe", binary))
    }
    const result = verify(
      files.map((name) => join(dir, name)),
      ["marketpipe-backfill", "marketpipe-metrics"]
    )
    expect({ code: result.code, problems: result.problems }).toEqual({ code: 0, problems: [] })
  })

  test("systemd-analyze calendar has the last word on OnCalendar=; without it on PATH the own check alone", async () => {
    systemdAnalyze()
    const dir = fresh()
    const flags = flagsFor(dir, { onCalendar: Option.some("*-13-01 00:00"), out: Option.some(join(dir, "out")) })
    const rejected = await generate(flags, environmentOf(dir))
    expect(rejected.error?.field).toBe("--on-calendar")
    expect(rejected.error?.reason).toContain("systemd-analyze calendar rejects '*-13-01 00:00'")
    expect(existsSync(join(dir, "out"))).toBe(false)
    const unchecked = await generate(flags, environmentOf(dir, { PATH: "" }))
    expect(Exit.isSuccess(unchecked.exit)).toBe(true)
  })
})

describe("the crontab block, as cron, sh and effect's Cron read it", () => {
  test("the times parse with Cron and come next when systemd's calendar would; sh runs exactly the arguments", async () => {
    const dir = fresh()
    const envFile = join(dir, "marketpipe.env")
    writeFileSync(envFile, "MP_TEST_KEY=k-123\n", { mode: 0o600 })
    const log = join(dir, "logs", "mp-test.log")
    mkdirSync(join(dir, "logs"))
    const r = await generate(
      flagsFor(dir, {
        kind: "cron",
        command: `query "SELECT 100% AS pct, 'a b' AS s" --csv`,
        envFile: Option.some(envFile),
        log: Option.some(log),
        json: true
      }),
      environmentOf(dir)
    )
    const block: string = JSON.parse(r.stdout).crontab
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(["crontab"])
    expect(block).not.toContain("k-123")
    const lines = block.split("\n")
    expect(lines).toContain("CRON_TZ=America/New_York")
    const line = lines.find((l) => /^\d/u.test(l)) ?? ""
    const fields = line.split(" ").slice(0, 5).join(" ")
    expect(fields).toBe("30 18 * * 1-5")
    const cron = Result.getOrThrow(Cron.parse(fields, "America/New_York"))
    // Thursday 7 March 2024 at 23:31 UTC, after that evening's 18:30 EST run: next is Friday 18:30 EST.
    expect(Cron.next(cron, new Date("2024-03-07T23:31:00Z")).toISOString()).toBe("2024-03-08T23:30:00.000Z")
    // After Friday's: Monday 11 March, on daylight time since the 10th (18:30 EDT = 22:30 UTC).
    expect(Cron.next(cron, new Date("2024-03-08T23:30:00Z")).toISOString()).toBe("2024-03-11T22:30:00.000Z")
    // cron turns an unescaped % into a line break and `\%` into %; then sh runs the rest of the line.
    const command = line.split(" ").slice(5).join(" ")
    expect(command).not.toMatch(/(?<!\\)%/u)
    const argsOut = join(dir, "args.txt")
    const sh = spawnSync("/bin/sh", ["-c", command.replaceAll("\\%", "%")], {
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", MP_ARGS_OUT: argsOut },
      cwd: dir
    })
    expect(sh.status).toBe(0)
    expect(readFileSync(argsOut, "utf8").split("\n").slice(0, -1)).toEqual([
      "query",
      "SELECT 100% AS pct, 'a b' AS s",
      "--csv",
      "--config",
      join(dir, "marketpipe.yaml"),
      "--data-dir",
      join(dir, "data")
    ])
    expect(readFileSync(log, "utf8")).toBe("ran with key k-123\n")
  })

  test("without --env-file nothing is loaded; --user makes it a line for /etc/cron.d", async () => {
    const dir = fresh()
    const r = await generate(
      flagsFor(dir, { kind: "cron", onCalendar: Option.some("daily"), user: Option.some("marketpipe") }),
      environmentOf(dir)
    )
    const line = r.stdout.split("\n").find((l) => /^\d/u.test(l)) ?? ""
    expect(line.startsWith(`0 0 * * * marketpipe ${join(dir, "bin", "marketpipe")} ohlcv backfill`)).toBe(true)
    expect(line.endsWith(`>> ${join(dir, "data", "logs", "mp-test.log")} 2>&1`)).toBe(true)
    expect(r.stdout).not.toContain("CRON_TZ")
    expect(r.stdout).toContain("# For /etc/cron.d/mp-test")
  })
})

describe("printing and writing", () => {
  test("without --out both units are printed under a header line each, and nothing is written", async () => {
    const dir = fresh()
    const r = await generate(flagsFor(dir), environmentOf(dir))
    expect(r.stdout).toMatch(/^# -+ mp-test\.service -+\n# Generated by/u)
    expect(r.stdout).toMatch(/\n# -+ mp-test\.timer -+\n# Generated by/u)
    expect(listFiles(dir)).toEqual(["bin/marketpipe"])
    const json = JSON.parse((await generate(flagsFor(dir, { json: true }), environmentOf(dir))).stdout)
    expect(json.files.map((f: { path: string }) => f.path)).toEqual(["mp-test.service", "mp-test.timer"])
    expect(json.files[1].content).toContain("OnCalendar=Mon..Fri 18:30 America/New_York\n")
  })

  test("--out is made if missing, relative to the working directory; files are replaced whole, no temp file left", async () => {
    const dir = fresh()
    mkdirSync(join(dir, "a", "b"), { recursive: true })
    writeFileSync(join(dir, "a", "b", "mp-test.service"), "stale\n")
    const r = await generate(flagsFor(dir, { out: Option.some("a/b"), json: true }), environmentOf(dir))
    const files: Array<{ path: string; content: string }> = JSON.parse(r.stdout).files
    expect(files.map((f) => f.path)).toEqual([join(dir, "a/b/mp-test.service"), join(dir, "a/b/mp-test.timer")])
    for (const f of files) expect(readFileSync(f.path, "utf8")).toBe(f.content)
    expect(readdirSync(join(dir, "a", "b")).sort()).toEqual(["mp-test.service", "mp-test.timer"])
    const text = await generate(flagsFor(dir, { out: Option.some(join(dir, "new")) }), environmentOf(dir))
    expect(text.stdout).toBe(`wrote ${join(dir, "new/mp-test.service")}\nwrote ${join(dir, "new/mp-test.timer")}\n`)
    expect(text.stderr).toContain("sudo systemctl enable --now mp-test.timer")
  })

  test("a config here gives the schedule defaults (config_version 2) and the data dir; flags win", async () => {
    const dir = fresh()
    mkdirSync(join(dir, "conf"))
    writeFileSync(
      join(dir, "conf", "mp.yaml"),
      "config_version: 2\ndata_dir: /srv/mp/data\nschedule: { on_calendar: 'Sat 06:00 America/New_York', randomized_delay: 2min, env_file: /etc/mp/keys.env, user: mpuser }\n"
    )
    const unitsOf = async (over: Partial<ScheduleGenerateFlags>) =>
      JSON.parse((await generate(flagsFor(dir, { json: true, dataDir: none, ...over }), environmentOf(dir))).stdout)
        .files as Array<{ content: string }>
    const [service, timer] = await unitsOf({ config: Option.some("conf/mp.yaml"), onCalendar: none })
    expect(timer?.content).toContain("OnCalendar=Sat 06:00 America/New_York\n")
    expect(timer?.content).toContain("RandomizedDelaySec=2min\n")
    expect(service?.content).toContain("EnvironmentFile=-/etc/mp/keys.env\n")
    expect(service?.content).toContain("User=mpuser\n")
    expect(service?.content).toContain("ReadWritePaths=/srv/mp/data\n")
    const [, flagged] = await unitsOf({ config: Option.some("conf/mp.yaml") })
    expect(flagged?.content).toContain("OnCalendar=Mon..Fri 18:30 America/New_York\n")
  })

  test("cron --out writes NAME.cron; --json gives the block and its path", async () => {
    const dir = fresh()
    const out = join(dir, "cron")
    const r = await generate(flagsFor(dir, { kind: "cron", out: Option.some(out), json: true }), environmentOf(dir))
    const json = JSON.parse(r.stdout)
    expect(json.path).toBe(join(out, "mp-test.cron"))
    expect(readFileSync(json.path, "utf8")).toBe(json.crontab)
    const text = await generate(flagsFor(dir, { kind: "cron", out: Option.some(out) }), environmentOf(dir))
    expect(text.stdout).toBe(`wrote ${join(out, "mp-test.cron")}\n`)
    expect(text.stderr).toContain("crontab -e")
    const system = await generate(
      flagsFor(dir, { kind: "cron", out: Option.some(out), user: Option.some("mp") }),
      environmentOf(dir)
    )
    expect(system.stderr).toContain(`/etc/cron.d/mp-test`)
  })

  test("metrics serve: --on-calendar is ignored with a notice, and the service is enabled rather than a timer", async () => {
    const dir = fresh()
    const r = await generate(
      flagsFor(dir, { command: "metrics serve", out: Option.some(join(dir, "out")) }),
      environmentOf(dir)
    )
    expect(r.stderr).toContain("--on-calendar is ignored: metrics serve runs until stopped, so no timer")
    expect(r.stderr).toContain("sudo systemctl enable --now mp-test.service")
    expect(listFiles(join(dir, "out"))).toEqual(["mp-test.service"])
  })

  test("paths are made absolute: the data dir defaults to $MARKETPIPE_DATA_DIR, else ./data of the working directory", async () => {
    const dir = fresh()
    const execStart = async (over: Partial<ScheduleGenerateFlags>, env: Record<string, string> = {}) =>
      (await generate(flagsFor(dir, { json: true, ...over }), environmentOf(dir, env))).stdout
    const service = (stdout: string) => JSON.parse(stdout).files[0].content as string
    const byDefault = service(await execStart({ dataDir: none, config: Option.some("conf/mp.yaml") }))
    expect(byDefault).toContain(`--config ${join(dir, "conf/mp.yaml")} --data-dir ${join(dir, "data")}\n`)
    expect(byDefault).toContain(`ReadWritePaths=${join(dir, "data")}\n`)
    expect(byDefault).toContain(`WorkingDirectory=${dir}\n`)
    const fromEnv = service(await execStart({ dataDir: none }, { MARKETPIPE_DATA_DIR: "/srv/mp/data" }))
    expect(fromEnv).toContain("ReadWritePaths=/srv/mp/data\n")
    expect(fromEnv).toContain("WorkingDirectory=/srv/mp\n")
    const chosen = service(await execStart({ workingDir: Option.some("work"), envFile: Option.some("keys.env") }))
    expect(chosen).toContain(`WorkingDirectory=${join(dir, "work")}\n`)
    expect(chosen).toContain(`EnvironmentFile=-${join(dir, "keys.env")}\n`)
  })

  test("without --binary: the build in dist/ when running from source, else a usage error asking for --binary", async () => {
    const dir = fresh()
    const r = await generate(flagsFor(dir, { binary: none, json: true }), environmentOf(dir))
    const built = join(repoRoot, "dist", "marketpipe")
    if (existsSync(built)) {
      expect(JSON.parse(r.stdout).files[0].content).toContain(`ExecStart=${built} ohlcv backfill`)
    } else {
      expect(r.error?.field).toBe("--binary")
      expect(r.error?.reason).toContain("pass --binary PATH")
    }
  })
})

describe("bad input: exit 2 naming the flag, nothing written", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["--kind", ["--kind", "launchd"]],
    ["--name", ["--name", "Bad Name"]],
    ["--command", ["--command", "ohlcv backfill; rm -rf /"]],
    ["--command", ["--command", "ohlcv backfill\nreboot"]],
    ["--command", ["--command", "ohlcv backfill --symbols $X"]],
    ["--command", ["--command", "query 'SELECT 1"]],
    ["--command", ["--kind", "cron", "--command", "metrics serve"]],
    ["--on-calendar", ["--on-calendar", "someday"]],
    ["--on-calendar", ["--on-calendar", ""]],
    ["--on-calendar", ["--kind", "cron", "--on-calendar", "*-*-01 02:00"]],
    ["--on-calendar", ["--kind", "cron", "--on-calendar", "Mon..Fri 18:30:30"]],
    ["--binary", ["--binary", "dist/marketpipe"]],
    ["--user", ["--user", "root; id"]],
    ["--randomized-delay", ["--randomized-delay", "soon"]],
    ["--randomized-delay", ["--kind", "cron", "--randomized-delay", "5min"]],
    ["--env-file", ["--env-file", "/etc/market pipe.env"]],
    ["--log", ["--log", "/tmp/x.log"]],
    ["--working-dir", ["--kind", "cron", "--working-dir", "/srv"]]
  ]

  test.each(cases)("%s: %p", async (field, args) => {
    const dir = fresh()
    const out = join(dir, "out")
    const base: Record<string, string> = {
      "--kind": "systemd",
      "--name": "mp-test",
      "--command": "ohlcv backfill --universe core",
      "--on-calendar": "Mon..Fri 18:30 America/New_York",
      "--binary": fakeBinary(dir),
      "--data-dir": join(dir, "data"),
      "--out": out
    }
    for (let i = 0; i < args.length; i += 2) base[args[i] as string] = args[i + 1] as string
    const r = await cli("schedule", "generate", ...Object.entries(base).flat())
    expect(r.code).toBe(2)
    expect(r.errors).toMatch(new RegExp(`^error: ${field}: `, "u"))
    expect(existsSync(out)).toBe(false)
    expect(listFiles(dir)).toEqual(["bin/marketpipe"])
  })

  test("the handler fails with a UsageError naming the flag, before writing anything", async () => {
    const dir = fresh()
    const out = Option.some(join(dir, "out"))
    for (const [field, over] of [
      ["--name", { name: "../../etc/passwd" }],
      ["--command", { command: "marketpipe ohlcv backfill" }],
      ["--on-calendar", { onCalendar: none }],
      ["--config", { config: Option.some("/etc/mp/%i.yaml") }],
      ["--data-dir", { dataDir: Option.some("/") }]
    ] as const) {
      const r = await generate(flagsFor(dir, { ...over, out }), environmentOf(dir))
      expect(r.error?.field).toBe(field)
      expect(existsSync(join(dir, "out"))).toBe(false)
    }
  })

  test("an --out that cannot be a directory is a usage error naming --out", async () => {
    const dir = fresh()
    writeFileSync(join(dir, "taken"), "a file\n")
    const r = await generate(flagsFor(dir, { out: Option.some(join(dir, "taken")) }), environmentOf(dir))
    expect(r.error?.field).toBe("--out")
    expect(readFileSync(join(dir, "taken"), "utf8")).toBe("a file\n")
  })

  test("a required flag left out is a parse error: exit 2", async () => {
    const r = await cli("schedule", "generate", "--kind", "systemd", "--name", "x")
    expect(r.code).toBe(2)
  })

  test("a good run through the command tree exits 0 and prints the units", async () => {
    const dir = fresh()
    const r = await cli(
      "schedule",
      "generate",
      "--kind",
      "systemd",
      "--name",
      "mp-test",
      "--command",
      "ohlcv backfill --universe core",
      "--on-calendar",
      "daily UTC",
      "--binary",
      fakeBinary(dir),
      "--data-dir",
      join(dir, "data")
    )
    expect({ code: r.code, errors: r.errors }).toEqual({ code: 0, errors: "" })
    expect(r.stdout).toContain("OnCalendar=daily UTC\n")
  })
})

describe("the checked-in samples", () => {
  test("scripts/systemd and scripts/cron hold exactly what the generator writes for the sample flags", async () => {
    const dir = fresh()
    await capture(() => Effect.runPromise(writeSamples(dir)))
    for (const sample of samples) {
      expect(listFiles(join(dir, sample.dir))).toEqual(expect.arrayContaining([...sample.files]))
      for (const name of sample.files) {
        const generated = readFileSync(join(dir, sample.dir, name), "utf8")
        const checkedIn = readFileSync(join(repoRoot, "scripts", sample.dir, name), "utf8")
        expect({ name, content: checkedIn }).toEqual({ name, content: generated })
      }
    }
    const expected = (folder: string) =>
      samples
        .filter((s) => s.dir === folder)
        .flatMap((s) => s.files)
        .sort()
    expect(
      listFiles(resolve(repoRoot, "scripts/systemd")).filter((f) => f !== "README.md" && f !== "samples.ts")
    ).toEqual(expected("systemd"))
    expect(listFiles(resolve(repoRoot, "scripts/cron"))).toEqual(expected("cron"))
  })
})
