/** `marketpipe query` caps DuckDB's memory and threads: defaults, `--memory-limit` / `--threads`, config `query`. */
import { beforeAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { availableParallelism, totalmem } from "node:os"
import { join } from "node:path"
import { Exit, Option } from "effect"
import { runSource } from "../support/cli.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { queryIn, rowsOf, verdict } from "../support/query.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-query-limits-")

let lake = ""
beforeAll(async () => {
  lake = fresh()
  const ingested = await ingestIn(lake, ingestFlags({ symbols: "AAPL", start: "2024-03-04", end: "2024-03-05" }))
  expect(Exit.isSuccess(ingested)).toBe(true)
})

const settings = "SELECT current_setting('memory_limit') AS memory, current_setting('threads') AS threads"

/** DuckDB prints sizes in binary units ("488.2 MiB"). */
const bytes = (printed: unknown): number => {
  const m = /^([\d.]+) (KiB|MiB|GiB|TiB)$/u.exec(String(printed))
  if (m === null) throw new Error(`not a DuckDB size: ${String(printed)}`)
  return Number(m[1]) * 1024 ** (["KiB", "MiB", "GiB", "TiB"].indexOf(m[2] ?? "") + 1)
}

describe("query limits", () => {
  test("by default DuckDB gets a quarter of the RAM and one CPU fewer than the machine has (1 to 4 threads)", async () => {
    const [s] = await rowsOf(lake, settings)
    expect(s?.threads).toBe(Math.min(4, Math.max(1, availableParallelism() - 1)))
    // DuckDB's own default is 80 % of the RAM.
    expect(Math.abs(bytes(s?.memory) - totalmem() / 4)).toBeLessThan(0.1 * 1024 ** 3)
  })

  test("--memory-limit and --threads set them", async () => {
    const rows = await rowsOf(lake, settings, { memoryLimit: Option.some("512MB"), threads: Option.some(3) })
    expect(rows).toEqual([{ memory: "488.2 MiB", threads: 3 }])
    expect((await rowsOf(lake, settings, { memoryLimit: Option.some("1GiB") }))[0]?.memory).toBe("1.0 GiB")
  })

  test("config query.memory_limit and query.threads set them; the flags win", async () => {
    const cwd = fresh()
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      `config_version: 1\ndata_dir: ${join(lake, "data")}\nquery:\n  memory_limit: 1GB\n  threads: 2\n`
    )
    expect(await rowsOf(cwd, settings)).toEqual([{ memory: "953.6 MiB", threads: 2 }])
    expect(await rowsOf(cwd, settings, { threads: Option.some(1) })).toEqual([{ memory: "953.6 MiB", threads: 1 }])
    expect(await rowsOf(cwd, settings, { memoryLimit: Option.some("256MB") })).toEqual([
      { memory: "244.1 MiB", threads: 2 }
    ])
  })

  test("a query that needs more memory fails naming the limit and how to raise it (exit 1)", async () => {
    const r = await queryIn(lake, "SELECT count(*) FROM (SELECT DISTINCT range FROM range(20000000))", {
      memoryLimit: Option.some("64MB")
    })
    const { code, error } = verdict(r.value)
    expect(code).toBe(1)
    expect(error).toMatch(/Out of Memory Error.*at most 64MB.*--memory-limit.*query\.memory_limit/)
    expect(error).not.toMatch(/temp_directory/)
    expect(r.stdout).toBe("")
  })

  test("bad --memory-limit or --threads: exit 2 naming the flag and what is allowed, before DuckDB runs", async () => {
    for (const value of ["lots", "512", "4 GBs", "-1GB", "10MB", "0.01GB"]) {
      const r = await queryIn(lake, "SELECT 1", { memoryLimit: Option.some(value) })
      const { code, error } = verdict(r.value)
      expect({ value, code }).toEqual({ value, code: 2 })
      expect(error).toMatch(
        /^error: --memory-limit: '.*' is not allowed: give a size such as 512MB or 4GB.*at least 64MB/
      )
      expect(r.stdout).toBe("")
    }
    for (const threads of [0, -2, 1000]) {
      const { code, error } = verdict((await queryIn(lake, "SELECT 1", { threads: Option.some(threads) })).value)
      expect({ threads, code }).toEqual({ threads, code: 2 })
      expect(error).toMatch(/^error: --threads: .*1 to 256/)
    }
  })

  test("bad config query values exit 2 naming the key", async () => {
    const cases: Array<[string, RegExp]> = [
      ["query:\n  memory_limit: huge\n", /config query\.memory_limit: .*512MB or 4GB/],
      ["query:\n  memory_limit: 1MB\n", /config query\.memory_limit: .*at least 64MB/],
      ["query:\n  threads: 0\n", /config query\.threads/],
      ["query:\n  thread: 2\n", /config query/]
    ]
    for (const [yaml, reason] of cases) {
      const cwd = fresh()
      writeFileSync(join(cwd, "marketpipe.yaml"), `config_version: 1\n${yaml}`)
      const { code, error } = verdict((await queryIn(cwd, "SELECT 1")).value)
      expect({ yaml, code }).toEqual({ yaml, code: 2 })
      expect(error).toMatch(reason)
    }
  })

  test("from the command line: --memory-limit and --threads parse; a bad value exits 2 and prints nothing else", () => {
    const dataDir = join(lake, "data")
    const ok = runSource(
      ["query", settings, "--memory-limit", "2GB", "--threads", "1", "--csv", "--data-dir", dataDir],
      {
        cwd: fresh()
      }
    )
    expect(ok.stderr).toBe("")
    expect(ok.stdout).toBe("memory,threads\n1.8 GiB,1\n")
    const bad = runSource(["query", "SELECT 1", "--memory-limit", "lots", "--data-dir", dataDir], { cwd: fresh() })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^error: --memory-limit: 'lots'/m)
    expect(bad.stdout).toBe("")
  })
})
