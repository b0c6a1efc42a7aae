import { afterEach, beforeEach, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { barsOf, batchFromBars, type Symbol } from "../../mod.ts"
import { removeOrphanTemps } from "../../src/lake/atomic-file.ts"
import { withFileLock } from "../../src/lake/file-lock.ts"
import { fileRelativePath } from "../../src/lake/layout.ts"
import { makeParquetSink, type WrittenFile } from "../../src/lake/parquet-sink.ts"
import { listFiles, removeDir, tempDir } from "../support/temp.ts"

let dir = ""
beforeEach(() => {
  dir = tempDir()
})
afterEach(() => removeDir(dir))

const sym = "AAPL" as Symbol
const key = { frame: "1m" as const, symbol: sym, period: "2024-03" }
const dayBars = (day: string, n: number, price: number) =>
  batchFromBars(
    sym,
    Array.from({ length: n }, (_, i) => ({
      ts: Date.parse(`${day}T14:30:00Z`) + i * 60_000,
      open: price,
      high: price + 1,
      low: price - 1,
      close: price,
      volume: 10 + i,
      trade_count: i % 2 === 0 ? i : null,
      vwap: i % 3 === 0 ? null : price
    }))
  )
const slice = (day: string, n: number, price: number, provider = "fake") => ({
  day,
  batch: dayBars(day, n, price),
  provider,
  feed: "synthetic"
})

const dayOf = (ts: number) => new Date(ts).toISOString().slice(0, 10)

/** Files of the lake and quarantine trees (the lock files under `.locks/` are the writers' business). */
const lakeFiles = () => listFiles(dir).filter((f) => !f.startsWith(".locks/"))

describe("Parquet sink", () => {
  test("days merge into the month file; re-writing a day replaces it and keeps the others", async () => {
    const sink = makeParquetSink(dir)
    await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 3, 10), slice("2024-03-05", 2, 20)], {}))
    await Effect.runPromise(sink.writeDays(key, [slice("2024-03-05", 4, 30, "other"), slice("2024-03-01", 1, 5)], {}))
    const file = await Effect.runPromise(sink.readFile(key))
    const bars = barsOf(file?.batch ?? dayBars("2024-03-04", 0, 0))
    expect(bars.map((b) => `${new Date(b.ts).toISOString().slice(0, 10)}:${b.open}`)).toEqual([
      "2024-03-01:5",
      "2024-03-04:10",
      "2024-03-04:10",
      "2024-03-04:10",
      "2024-03-05:30",
      "2024-03-05:30",
      "2024-03-05:30",
      "2024-03-05:30"
    ])
    expect(file?.provider).toEqual(["fake", "fake", "fake", "fake", "other", "other", "other", "other"])
    expect(bars[1]).toMatchObject({ trade_count: 0, vwap: null })
    expect(bars[2]).toMatchObject({ trade_count: null, vwap: 10 })
    expect(file?.metadata["marketpipe.rows"]).toBe("8")
    expect(file?.metadata["marketpipe.min_ts"]).toBe("2024-03-01T14:30:00.000Z")
    expect(lakeFiles()).toEqual(["ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"])
  })

  test("writing only empty days creates no file; identical content gives identical hashes", async () => {
    const sink = makeParquetSink(dir)
    const empty = await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 0, 1)], {}))
    expect(empty.file).toBe("")
    expect(lakeFiles()).toEqual([])
    const a = await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 5, 1)], {}))
    const b = await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 5, 1)], {}))
    const c = await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 5, 2)], {}))
    expect(a.hashes.get("2024-03-04")).toBe(b.hashes.get("2024-03-04") as string)
    expect(c.hashes.get("2024-03-04")).not.toBe(a.hashes.get("2024-03-04") as string)
  })

  test("a corrupt existing file is a storage error naming the file, and it is left as it was", async () => {
    const sink = makeParquetSink(dir)
    await Effect.runPromise(sink.writeDays(key, [slice("2024-03-04", 390, 1), slice("2024-03-05", 390, 2)], {}))
    const path = join(dir, "ohlcv/frame=1m/symbol=AAPL/2024-03.parquet")
    // Damaged inside the column data, footer intact: the sink gets as far as decoding before it finds out.
    const damaged = new Uint8Array(readFileSync(path))
    damaged.fill(0xff, Math.floor(damaged.length * 0.3), Math.floor(damaged.length * 0.3) + 64)
    for (const bytes of [damaged, new TextEncoder().encode("not parquet")]) {
      writeFileSync(path, bytes)
      const before = lakeFiles()
      await expect(Effect.runPromise(sink.readFile(key))).rejects.toMatchObject({ _tag: "StorageError", path })
      await expect(Effect.runPromise(sink.writeDays(key, [slice("2024-03-06", 2, 1)], {}))).rejects.toMatchObject({
        _tag: "StorageError",
        path
      })
      // Byte for byte what was there: neither rewritten with the days it could read nor replaced by the new day.
      expect(Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))).toBe(true)
      expect(lakeFiles()).toEqual(before)
    }
  })

  test("two writers of one month file at once both keep their days, and each records under the file's lock", async () => {
    // Two sinks as two processes would have them: each reads the file, merges its week and renames.
    const [a, b] = [makeParquetSink(dir), makeParquetSink(dir)]
    const weekOf = (first: number) =>
      Array.from({ length: 5 }, (_, i) => slice(`2024-03-${String(first + i).padStart(2, "0")}`, 390, first))
    const recorded: Array<ReadonlyArray<string>> = []
    const record = (w: WrittenFile) =>
      Effect.gen(function* () {
        const file = yield* a.readFile(key)
        recorded.push([...new Set(barsOf(file?.batch ?? dayBars("2024-03-04", 0, 0)).map((x) => dayOf(x.ts)))])
        expect(file?.batch.ts.length).toBe(w.rows)
      })
    await Effect.runPromise(
      Effect.all([a.writeDays(key, weekOf(4), {}, record), b.writeDays(key, weekOf(11), {}, record)], {
        concurrency: "unbounded"
      })
    )
    const file = await Effect.runPromise(a.readFile(key))
    const days = new Set(barsOf(file?.batch ?? dayBars("2024-03-04", 0, 0)).map((x) => dayOf(x.ts)))
    expect([...days].sort()).toEqual(
      [4, 5, 6, 7, 8, 11, 12, 13, 14, 15].map((d) => `2024-03-${String(d).padStart(2, "0")}`)
    )
    expect(file?.batch.ts.length).toBe(10 * 390)
    // The second writer's record saw the first's days still there: what it recorded is what the file held.
    expect(recorded.map((r) => r.length).sort((x, y) => x - y)).toEqual([5, 10])
  })

  test("orphaned temp files from a crashed writer are found and removed", () => {
    const d = join(dir, "ohlcv/frame=1m/symbol=AAPL")
    require("node:fs").mkdirSync(d, { recursive: true })
    writeFileSync(join(d, ".2024-03.parquet.mp-tmp-123-abc"), "partial")
    writeFileSync(join(d, "2024-03.parquet"), "keep")
    expect(removeOrphanTemps(dir).length).toBe(1)
    expect(lakeFiles()).toEqual(["ohlcv/frame=1m/symbol=AAPL/2024-03.parquet"])
  })
})

describe("several files written together", () => {
  test("every file is in place when `after` runs, and each is still locked then: another writer waits", async () => {
    const sink = makeParquetSink(dir)
    const keys = ["5m", "15m", "1h"].map((frame) => ({ frame: frame as "5m", symbol: sym, period: "2024-03" }))
    const seen: Array<string> = []
    let otherWriter: unknown
    const written = await Effect.runPromise(
      sink.writeFilesTogether(
        keys.map((k, i) => ({ key: k, days: [slice("2024-03-04", 3 + i, 10)], metadata: {} })),
        (files) =>
          Effect.gen(function* () {
            seen.push(...lakeFiles())
            expect(files.map((f) => f.rows)).toEqual([3, 4, 5])
            // A writer of one of these files gives up rather than get in while the locks are held.
            otherWriter = yield* Effect.flip(
              withFileLock(dir, fileRelativePath("ohlcv", keys[1] as (typeof keys)[number]), Effect.void, 50)
            )
          })
      )
    )
    expect(seen.sort()).toEqual(written.map((w) => w.file).sort())
    expect(String((otherWriter as { reason?: string }).reason)).toMatch(/held this file's lock/u)
    const again = await Effect.runPromise(
      withFileLock(dir, fileRelativePath("ohlcv", keys[1] as (typeof keys)[number]), Effect.succeed("free"), 50)
    )
    expect(again).toBe("free")
  })

  test("a file that cannot be written fails the whole call, `after` never runs, and no lock stays taken", async () => {
    const sink = makeParquetSink(dir)
    const good = { frame: "5m" as const, symbol: sym, period: "2024-03" }
    const bad = { frame: "15m" as const, symbol: sym, period: "2024-03" }
    mkdirSync(join(dir, fileRelativePath("ohlcv", bad)), { recursive: true })
    let recorded = false
    const error = await Effect.runPromise(
      Effect.flip(
        sink.writeFilesTogether(
          [good, bad].map((k) => ({ key: k, days: [slice("2024-03-04", 2, 10)], metadata: {} })),
          () =>
            Effect.sync(() => {
              recorded = true
            })
        )
      )
    )
    expect(recorded).toBe(false)
    expect(String((error as { path?: string }).path)).toContain("frame=15m")
    for (const k of [good, bad]) {
      expect(
        await Effect.runPromise(withFileLock(dir, fileRelativePath("ohlcv", k), Effect.succeed(k.frame), 50))
      ).toBe(k.frame)
    }
  })
})
