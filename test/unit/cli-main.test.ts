import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { runMain } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-main-")

const run = async (argv: ReadonlyArray<string>) => {
  const printed: Array<string> = []
  const { value, stdout } = await capture(() => runMain(argv, {}, (line) => printed.push(line)))
  return { code: value, stdout, printed }
}

describe("the process entry", () => {
  test("a bad --trace mode exits 2 naming the flag and the modes, before any command runs", async () => {
    const r = await run(["--trace", "loud", "--version"])
    expect(r.code).toBe(2)
    expect(r.printed.join("\n")).toMatch(/--trace must be one of off, console, otlp \(got 'loud'\)/)
    expect(r.stdout).toBe("")
  })

  test("--version runs the command and exits 0, and leaves no signal handler behind", async () => {
    const before = process.listenerCount("SIGINT")
    const r = await run(["--version"])
    expect(r.code).toBe(0)
    expect(process.listenerCount("SIGINT")).toBe(before)
  })

  test("an unknown flag exits 2", async () => {
    const r = await run(["jobs", "list", "--no-such-flag"])
    expect(r.code).toBe(2)
  })

  test("bad input exits 2 with the reason printed, and writes nothing", async () => {
    const dir = fresh()
    const data = join(dir, "data")
    const r = await run([
      "ohlcv",
      "ingest",
      "--symbols",
      "A A",
      "--start",
      "2024-03-04",
      "--end",
      "2024-03-04",
      "--data-dir",
      data
    ])
    expect(r.code).toBe(2)
    expect(r.printed.join("\n")).toMatch(/^error: .*--symbols/m)
    expect(listFiles(dir)).toEqual([])
  })

  test("a run with failed partitions exits 3 and says how many failed", async () => {
    const dir = fresh()
    const config = join(dir, "marketpipe.yaml")
    writeFileSync(config, "config_version: 1\nproviders:\n  fake:\n    fail_symbols: [MSFT]\n")
    const args = ["--symbols", "AAPL,MSFT", "--start", "2024-03-04", "--end", "2024-03-05"]
    const r = await run(["ohlcv", "ingest", ...args, "--config", config, "--data-dir", join(dir, "data"), "--json"])
    expect(r.code).toBe(3)
    expect(r.printed.join("\n")).toMatch(/^error: job 1 finished with 2 failed partition/m)
  })
})
