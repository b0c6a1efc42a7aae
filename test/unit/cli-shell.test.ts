import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Cause, Data, Effect, Exit, Option } from "effect"
import { jobsListMain, jobsShowMain } from "../../src/cli/commands/jobs.ts"
import { exitCodeOf, runCli } from "../../src/cli/main.ts"
import { makeOutput, table } from "../../src/cli/output.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { removeDir, tempDir } from "../support/temp.ts"

let cwd = ""
beforeEach(() => {
  cwd = tempDir()
})
afterEach(() => removeDir(cwd))

const common = { config: Option.none(), dataDir: Option.none(), json: false }
class Boom extends Data.TaggedError("Boom")<{ readonly message: string }> {}

describe("exit codes", () => {
  test("each outcome maps to its documented code and prints one line", () => {
    const lines: Array<string> = []
    const print = (l: string) => lines.push(l)
    expect(exitCodeOf(Exit.succeed(1), print)).toBe(0)
    expect(exitCodeOf(Exit.fail({ _tag: "ShowHelp", errors: [] }), print)).toBe(0)
    expect(exitCodeOf(Exit.fail({ _tag: "ShowHelp", errors: ["x"] }), print)).toBe(2)
    expect(exitCodeOf(Exit.fail(new Boom({ message: "disk on fire" })), print)).toBe(1)
    expect(exitCodeOf(Exit.die(new Error("bug")), print)).toBe(1)
    expect(exitCodeOf(Exit.failCause(Cause.interrupt(1)), print)).toBe(130)
    expect(lines[0]).toBe("error: disk on fire")
    expect(lines[1]).toMatch(/bug/)
  })

  test("the CLI runs in-process: --version succeeds, a parse error is a usage failure", async () => {
    const ok = await capture(() => Effect.runPromiseExit(runCli(["--version"])))
    expect(exitCodeOf(ok.value, () => {})).toBe(0)
    const bad = await capture(() => Effect.runPromiseExit(runCli(["ohlcv", "ingest", "--frame", "2m"])))
    expect(exitCodeOf(bad.value, () => {})).toBe(2)
  })
})

describe("jobs commands", () => {
  test("an empty repository says so; an unknown job id is a usage error", async () => {
    const listed = await capture(() => Effect.runPromise(jobsListMain({ ...common, limit: 5 }, { env: {}, cwd })))
    expect(listed.stdout).toBe("no jobs yet\n")
    const shown = await Effect.runPromiseExit(jobsShowMain({ ...common, id: 42 }, { env: {}, cwd }))
    expect(exitCodeOf(shown, () => {})).toBe(2)
  })

  test("jobs show lists failed partitions with their errors; --json gives the records", async () => {
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n")
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-07", end: "2024-03-08" })))
    const text = await capture(() => Effect.runPromise(jobsShowMain({ ...common, id: 1 }, { env: {}, cwd })))
    expect(text.stdout).toMatch(/job 1: ingest partial/)
    expect(text.stdout).toMatch(/MSFT\s+2024-03-08\s+\d+\s+provider fake: synthetic failure for MSFT/)
    const json = await capture(() =>
      Effect.runPromise(jobsListMain({ ...common, json: true, limit: 5 }, { env: {}, cwd }))
    )
    expect(JSON.parse(json.stdout).find((j: { kind: string }) => j.kind === "ingest")).toMatchObject({
      id: 1,
      state: "partial",
      partitionsFailed: 2
    })
  })

  test("the human summary of an ingest names counts and failures", async () => {
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n")
    const r = await capture(() =>
      ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-08", end: "2024-03-08", json: false }))
    )
    expect(r.stdout).toMatch(
      /job 1 partial: ingest fake\/synthetic 1m 2 symbol\(s\) 2024-03-08\.\.2024-03-08 \(1 trading days\)/
    )
    expect(r.stdout).toMatch(/bars: 390 written, 0 rejected/)
    expect(r.stderr).toMatch(/progress 2\/2 partitions/)
  })
})

describe("output", () => {
  test("on a TTY the progress bar redraws in place with rate and ETA", async () => {
    const r = await capture(async () => {
      const out = makeOutput({ json: false, tty: true })
      out.progress(
        { partitionsTotal: 20, partitionsDone: 5, partitionsFailed: 0, barsWritten: 1950, barsRejected: 0 },
        1000
      )
      out.notice("notice: hello")
      out.progress(
        { partitionsTotal: 20, partitionsDone: 9, partitionsFailed: 1, barsWritten: 3900, barsRejected: 0 },
        130_000
      )
      out.done()
    })
    expect(r.stderr).toMatch(/^\r█{6}░{18} 5\/20 partitions {2}5 ok {2}0 failed {2}1950 bars {2}1950 bars\/s {2}ETA 3s/)
    expect(r.stderr).toMatch(/\nnotice: hello\n/)
    expect(r.stderr).toMatch(/ETA 2m10s/)
  })

  test("tables pad columns", () => {
    expect(table(["a", "bb"], [["xyz", 1]])).toBe("a    bb\nxyz  1")
  })
})
