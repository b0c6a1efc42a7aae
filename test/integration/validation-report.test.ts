import { describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Option } from "effect"
import { type ValidateFlags, validateMain } from "../../src/cli/commands/validate.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import { capture } from "../support/capture.ts"
import { ingestFlags, ingestIn } from "../support/ingest.ts"
import { duckdb } from "../support/lake.ts"
import { useTempDirs } from "../support/temp.ts"

const fresh = useTempDirs("mp-validate-")

const flags = (over: Partial<ValidateFlags> = {}): ValidateFlags => ({
  jobId: Option.none(),
  symbols: Option.none(),
  from: Option.none(),
  to: Option.none(),
  session: Option.none(),
  list: false,
  show: Option.none(),
  html: Option.none(),
  config: Option.none(),
  dataDir: Option.none(),
  json: true,
  ...over
})
const validate = async (cwd: string, over: Partial<ValidateFlags>) =>
  capture(() => Effect.runPromiseExit(validateMain(flags(over), { env: {}, cwd })))

describe("quarantine and validation reports", () => {
  test("error bars go to quarantine with their rule, the report lists exactly them, the lake keeps the rest", async () => {
    const cwd = fresh()
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    invalid_every: 97\n")
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-07", end: "2024-03-08" })))
    const dataDir = join(cwd, "data")
    const quarantined = await duckdb<{ symbol: string; ts: string; rule: string; severity: string }>(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%S.000Z') AS ts, rule, severity FROM read_parquet('${dataDir}/quarantine/frame=1m/*/*.parquet', hive_partitioning = true) ORDER BY symbol, ts`
    )
    // 390 minutes a day: bars 97, 194, 291, 388 of each day are broken -> 4 per symbol-day.
    expect(quarantined.length).toBe(2 * 2 * 4)
    expect(new Set(quarantined.map((q) => `${q.rule}/${q.severity}`))).toEqual(new Set(["ohlc_consistency/error"]))
    const report = readFileSync(join(dataDir, "reports/1/validation.csv"), "utf8").trim().split("\n")
    expect(report[0]).toBe("symbol,ts,rule,severity,detail,open,high,low,close,volume")
    expect(report.slice(1).map((l) => l.split(",").slice(0, 2).join(" "))).toEqual(
      quarantined.map((q) => `${q.symbol} ${q.ts}`)
    )
    const lake = await duckdb<{ n: string }>(
      `SELECT count(*) AS n FROM read_parquet('${dataDir}/ohlcv/frame=1m/*/*.parquet')`
    )
    expect(lake[0]?.n).toBe(String(4 * 390 - 16))
    // A re-run replaces the same days: quarantine holds no duplicates.
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL,MSFT", start: "2024-03-07", end: "2024-03-08" })))
    const again = await duckdb<{ n: string }>(
      `SELECT count(*) AS n FROM read_parquet('${dataDir}/quarantine/frame=1m/*/*.parquet')`
    )
    expect(again[0]?.n).toBe("16")

    const listed = await validate(cwd, { list: true })
    expect(JSON.parse(listed.stdout).map((r: { jobId: number; errors: number }) => [r.jobId, r.errors])).toContainEqual(
      [1, 16]
    )
    const shown = await validate(cwd, { show: Option.some(1), json: false })
    expect(shown.stdout).toMatch(/16 bar\(s\) quarantined, 0 warning\(s\)[\s\S]*ohlc_consistency\s+error\s+16/)
  })

  test("ohlcv validate re-checks the lake with today's settings, writes a report and an HTML page", async () => {
    const cwd = fresh()
    await capture(() => ingestIn(cwd, ingestFlags({ symbols: "AAPL", start: "2024-03-07", end: "2024-03-08" })))
    writeFileSync(
      join(cwd, "marketpipe.yaml"),
      "config_version: 1\nvalidation:\n  rules:\n    price_jump: error\n  price_jump_threshold: 0.0001\n"
    )
    const r = await validate(cwd, { jobId: Option.some(1), html: Option.some("report.html") })
    expect(Exit.isSuccess(r.value)).toBe(true)
    const out = JSON.parse(r.stdout)
    expect(out.kind).toBe("validate")
    expect(out.errors).toBeGreaterThan(0)
    expect(out.totals[0]).toMatchObject({ rule: "price_jump", severity: "error" })
    const html = readFileSync(join(cwd, "report.html"), "utf8")
    expect(html).toMatch(/<table class="heat">/)
    expect(html).toMatch(/AAPL 2024-03-08: complete 390\/390 bars/)
    expect(html).toMatch(/<td>price_jump<\/td><td class="error">error<\/td>/)
    // Validation never changes the lake.
    const lake = await duckdb<{ n: string }>(
      `SELECT count(*) AS n FROM read_parquet('${join(cwd, "data")}/ohlcv/frame=1m/*/*.parquet')`
    )
    expect(lake[0]?.n).toBe("780")
    const text = await validate(cwd, {
      symbols: Option.some("AAPL"),
      from: Option.some("2024-03-08"),
      to: Option.some("2024-03-08"),
      json: false
    })
    expect(text.stderr).toMatch(/validated 390 bar\(s\) of 1 symbol\(s\)/)
  })

  test("usage errors: unknown job, unknown report, no range", async () => {
    const cwd = fresh()
    for (const over of [{ jobId: Option.some(9) }, { show: Option.some(9) }, {}]) {
      const r = await validate(cwd, over)
      expect(exitCodeOf(r.value, () => {})).toBe(2)
    }
    expect((await validate(cwd, { list: true, json: false })).stdout).toMatch(/no validation reports yet/)
  })
})
