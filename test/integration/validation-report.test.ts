import { describe, expect, test } from "bun:test"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { stringify } from "csv-stringify/sync"
import { Effect, Exit, Option } from "effect"
import { type ValidateFlags, validateMain } from "../../src/cli/commands/validate.ts"
import { exitCodeOf } from "../../src/cli/main.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import type { Finding } from "../../src/domain/validation.ts"
import { FINDINGS_KEPT } from "../../src/pipeline/ingest-types.ts"
import { processOwner } from "../../src/pipeline/recovery.ts"
import { Jobs } from "../../src/repository/jobs.ts"
import { repositoryLayer } from "../../src/repository/layer.ts"
import { findingsSpool } from "../../src/validation/findings-spool.ts"
import { writeValidationReport } from "../../src/validation/report.ts"
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

describe("a run with more findings than a report lists", () => {
  test(`lists the first ${FINDINGS_KEPT.toLocaleString("en")}, counts every one, and leaves no spool behind`, async () => {
    const cwd = fresh()
    // Every bar broken: 26 symbols x 20 days x 390 minutes = 202,800 findings.
    writeFileSync(join(cwd, "marketpipe.yaml"), "config_version: 1\nproviders:\n  fake:\n    invalid_every: 1\n")
    const symbols = Array.from({ length: 26 }, (_, i) => `S${String(i).padStart(3, "0")}`).join(",")
    const run = await capture(() => ingestIn(cwd, ingestFlags({ symbols, start: "2024-03-01", end: "2024-03-28" })))
    const summary = JSON.parse(run.stdout) as { rejected_by_rule: Record<string, number> }
    const total = Object.values(summary.rejected_by_rule).reduce((a, b) => a + b, 0)
    expect(total).toBe(202_800)
    const dataDir = join(cwd, "data")
    const csv = readFileSync(join(dataDir, "reports/1/validation.csv"), "utf8").trimEnd().split("\n")
    expect(csv.length).toBe(1 + FINDINGS_KEPT)
    const json = JSON.parse(readFileSync(join(dataDir, "reports/1/validation.json"), "utf8"))
    expect(json.findings.length).toBe(FINDINGS_KEPT)
    expect(json.totals).toEqual(
      Object.entries(summary.rejected_by_rule).map(([rule, count]) => ({ rule, severity: "error", count }))
    )
    const listed = await validate(cwd, { list: true })
    expect(JSON.parse(listed.stdout)[0]).toMatchObject({ jobId: 1, errors: 202_800, findings: 202_800 })
    expect(readdirSync(join(dataDir, "reports"))).toEqual(["1"])
  }, 120_000)
})

describe("the report files", () => {
  const finding = (i: number): Finding => ({
    symbol: `S${i % 7}`,
    ts: Date.UTC(2024, 2, 7, 14, 30) + i * 60_000,
    rule: i % 3 === 0 ? "price_jump" : "ohlc_consistency",
    severity: i % 3 === 0 ? "warning" : "error",
    // Text the CSV must quote and JSON must escape, in some rows.
    detail: i % 5 === 0 ? `jump of "${i}%", then\nback é` : "low/high do not bound open/close",
    open: 100 + i / 3,
    high: 101 + i,
    low: 99 - i / 7,
    close: 100.5,
    volume: i * 13
  })

  test("hold exactly the CSV table and the JSON document of every finding, however many there are", async () => {
    for (const count of [0, 1, 4_321]) {
      const dataDir = fresh()
      const repository = repositoryLayer(`sqlite:${join(dataDir, "marketpipe.db")}`)
      const job = await Effect.runPromise(
        Jobs.use((jobs) =>
          jobs.create(
            {
              kind: "backfill",
              provider: "fake",
              feed: "synthetic",
              frame: "1m",
              session: "regular",
              symbols: ["S0" as Symbol],
              startDay: "2024-03-07",
              endDay: "2024-03-07"
            },
            []
          )
        ).pipe(Effect.provide(repository))
      )
      const findings = Array.from({ length: count }, (_, i) => finding(i))
      const input = {
        jobId: job.id,
        kind: "backfill",
        findings,
        errorsByRule: { ohlc_consistency: findings.filter((f) => f.severity === "error").length + 5 },
        warningsByRule: count === 0 ? {} : { price_jump: findings.filter((f) => f.severity === "warning").length }
      }
      // Added as a run adds them: a unit's findings at a time, here in uneven pieces.
      const written = await Effect.runPromise(
        Effect.gen(function* () {
          const spool = yield* findingsSpool(dataDir, processOwner())
          for (let at = 0; at < count; at += 1 + (at % 977)) yield* spool.add(findings.slice(at, at + 1 + (at % 977)))
          expect(spool.size()).toBe(count)
          return yield* writeValidationReport(dataDir, { ...input, findings: spool })
        }).pipe(Effect.scoped, Effect.provide(repository))
      )
      // The spool is gone with its scope; the report stays.
      expect(readdirSync(join(dataDir, "reports"))).toEqual([String(job.id)])
      const rows = findings.map((f) => ({ ...f, ts: new Date(f.ts).toISOString() }))
      const columns = ["symbol", "ts", "rule", "severity", "detail", "open", "high", "low", "close", "volume"]
      expect(readFileSync(written.csv, "utf8")).toBe(stringify(rows, { header: true, columns }))
      const totals = [
        { rule: "ohlc_consistency", severity: "error", count: input.errorsByRule.ohlc_consistency },
        ...Object.entries(input.warningsByRule).map(([rule, n]) => ({ rule, severity: "warning", count: n }))
      ]
      expect(readFileSync(written.json, "utf8")).toBe(
        `${JSON.stringify({ job_id: job.id, kind: "backfill", totals, findings: rows }, null, 1)}\n`
      )
      // The counts are complete whatever the findings listed: here five errors more than the rows.
      expect(written.errors).toBe(input.errorsByRule.ohlc_consistency)
    }
  })
})
