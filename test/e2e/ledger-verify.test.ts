/** `ledger verify [--repair]`: claims the lake cannot back are found, withdrawn, and refetched by the next backfill. */
import { describe, expect, test } from "bun:test"
import { existsSync, rmSync, truncateSync } from "node:fs"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { exitCodeOf } from "../../src/cli/main.ts"
import { selectRows } from "../../src/domain/bar.ts"
import type { Symbol } from "../../src/domain/symbol.ts"
import { makeParquetSink } from "../../src/lake/parquet-sink.ts"
import { backfillFlags, backfillIn, ledgerJson } from "../support/backfill.ts"
import { lakeDigest } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"
import { verifyIn } from "../support/verify.ts"

const fresh = useTempDirs("mp-verify-")

const verify = verifyIn

const range = { symbols: Option.some("AAPL,MSFT"), from: Option.some("2024-03-04"), to: Option.some("2024-04-05") }

describe("ledger verify", () => {
  test("finds lost, truncated and rewritten files; --repair withdraws those claims and a backfill refetches them", async () => {
    const cwd = fresh()
    const data = join(cwd, "data")
    expect((await backfillIn(cwd, backfillFlags(range))).value._tag).toBe("Success")
    const clean = await lakeDigest(data)

    const first = await verify(cwd)
    expect(exitCodeOf(first.value, () => {})).toBe(0)
    const healthy = JSON.parse(first.stdout)
    // Every frame's claims are checked: 2 symbols x 24 days x 7 frames.
    expect(healthy).toMatchObject({ claims: 2 * 24 * 7, backed: 2 * 24 * 7, problems: [] })

    // A truncated month, a lost 5m month, and a day rewritten behind the ledger's back.
    truncateSync(join(data, "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"), 3000)
    rmSync(join(data, "ohlcv/frame=5m/symbol=MSFT/2024-04.parquet"))
    const sink = makeParquetSink(data)
    const msft = { frame: "1m" as const, symbol: "MSFT" as Symbol, period: "2024-04" }
    const april = await Effect.runPromise(sink.readFile(msft))
    const batch = april?.batch
    if (batch === undefined) throw new Error("no April file")
    // 2024-04-02 rewritten with one close changed: its bar count stays, so only the content hash can tell.
    const firstApril = batch.ts.findIndex((t) => t >= Date.parse("2024-04-02T00:00:00Z"))
    const changed = selectRows(
      batch,
      Array.from({ length: 390 }, (_, i) => firstApril + i)
    )
    changed.close[0] = (changed.close[0] as number) + 1
    await Effect.runPromise(
      sink.writeDays(msft, [{ day: "2024-04-02", batch: changed, provider: "fake", feed: "synthetic" }], {})
    )

    const damaged = await verify(cwd)
    expect(exitCodeOf(damaged.value, () => {})).toBe(3)
    const report = JSON.parse(damaged.stdout) as {
      problems: Array<{ frame: string; symbol: string; day: string; problem: string }>
    }
    const kinds = (kind: string) => report.problems.filter((p) => p.problem === kind)
    expect(kinds("file unreadable").map((p) => `${p.frame} ${p.symbol}`)).toEqual(Array(19).fill("1m AAPL"))
    expect(kinds("file missing").map((p) => `${p.frame} ${p.symbol} ${p.day}`)).toEqual(
      ["2024-04-01", "2024-04-02", "2024-04-03", "2024-04-04", "2024-04-05"].map((d) => `5m MSFT ${d}`)
    )
    expect(kinds("content differs").map((p) => `${p.frame} ${p.symbol} ${p.day}`)).toEqual(["1m MSFT 2024-04-02"])
    expect(report.problems.length).toBe(19 + 5 + 1)

    const repaired = await verify(cwd, { repair: true })
    expect(exitCodeOf(repaired.value, () => {})).toBe(0)
    expect(JSON.parse(repaired.stdout)).toMatchObject({ repaired: 25 })
    // The unreadable file left the lake (kept under damaged/), so it no longer fails every later write.
    expect(existsSync(join(data, "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"))).toBe(false)
    expect(listFiles(join(data, "damaged")).map((f) => f.replace(/\.\d{4}-.*$/u, ""))).toEqual([
      "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"
    ])
    const ledger = await ledgerJson(cwd, { symbols: Option.some("AAPL") })
    expect(ledger.symbols[0].counts).toMatchObject({ missing: 19, complete: 5 })

    const refetch = await backfillIn(cwd, backfillFlags(range))
    expect(JSON.parse(refetch.stdout.trim().split("\n").at(-1) ?? "{}")).toMatchObject({
      plan: { partitions: 19 + 1 }
    })
    expect(exitCodeOf((await verify(cwd)).value, () => {})).toBe(0)
    expect(await lakeDigest(data)).toEqual(clean)
  })
})
