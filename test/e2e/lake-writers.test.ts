/**
 * Lake writes on the writer threads, as users run the CLI: the compiled binary (whose worker code is an extra
 * entrypoint of the compile) and Deno (`deno task marketpipe`) write through them, land exactly the lake a
 * same-thread write lands, and exit when the run is done (a live worker would keep the process up).
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { join, resolve } from "node:path"
import fake from "../../plugins/fake/mod.ts"
import { compiledBinary, root, run, runAsync } from "../support/cli.ts"
import { lakeDigest } from "../support/lake.ts"
import { ingestThrough } from "../support/provider-run.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

setDefaultTimeout(120_000)
const fresh = useTempDirs("mp-writers-")

const symbols = ["AAPL", "MSFT", "SPY", "QQQ"]
const from = "2024-03-04"
const to = "2024-03-15"
const ingest = ["ohlcv", "ingest", "--provider", "fake", "--symbols", symbols.join(","), "--start", from, "--end", to]

let sameThread: { n: string; h: string }
beforeAll(async () => {
  const dir = fresh()
  await ingestThrough({ plugin: fake, baseUrl: "", env: {} }, join(dir, "data"), symbols, from, to)
  sameThread = await lakeDigest(join(dir, "data"))
})

/** The thread each lake write ran on, from the `marketpipe.parquet.write` spans `--trace console` prints. */
const writeThreads = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { span: string; attributes: Record<string, unknown> })
    .filter((s) => s.span === "marketpipe.parquet.write" && s.attributes["marketpipe.rows"] !== 0)
    .map((s) => String(s.attributes["marketpipe.thread"]))

/** What a run left in its data dir: the 1m lake's digest, the frames written, and any temp file. */
const lakeOf = async (dataDir: string) => ({
  digest: await lakeDigest(dataDir),
  frames: [...new Set(listFiles(join(dataDir, "ohlcv")).map((f) => f.split("/")[0]))],
  temps: listFiles(dataDir).filter((f) => f.includes(".mp-tmp-"))
})

describe("lake writes on worker threads", () => {
  test("the compiled binary writes through its writer threads, lands the same-thread lake and exits", async () => {
    const binary = compiledBinary()
    const cwd = fresh()
    const r = run(binary, [...ingest, "--trace", "console"], { cwd })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/warning: lake writes run on the main thread/u)
    const threads = writeThreads(r.stderr)
    expect(threads.length).toBeGreaterThan(symbols.length)
    expect(threads.every((t) => t.startsWith("lake-writer-"))).toBe(true)
    expect(await lakeOf(join(cwd, "data"))).toEqual({
      digest: sameThread,
      frames: ["frame=15m", "frame=1d", "frame=1h", "frame=1m", "frame=30m", "frame=4h", "frame=5m"],
      temps: []
    })
    const verify = run(binary, ["ledger", "verify"], { cwd })
    expect(verify.stdout).toMatch(/ backed by the lake, 0 not/u)
    expect(verify.code).toBe(0)
  })

  test("under Deno (deno task marketpipe) the writer threads write the lake too, and the run exits", async () => {
    const cwd = fresh()
    const data = join(cwd, "data")
    const r = await runAsync(
      resolve(root, "node_modules/deno/deno"),
      [
        "task",
        "--config",
        resolve(root, "deno.json"),
        "marketpipe",
        ...ingest,
        "--data-dir",
        data,
        "--trace",
        "console"
      ],
      { cwd: root, env: { DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(cwd, ".deno") } }
    )
    expect(r.code, r.stderr).toBe(0)
    const threads = writeThreads(r.stderr)
    expect(threads.length).toBeGreaterThan(symbols.length)
    expect(threads.every((t) => t.startsWith("lake-writer-"))).toBe(true)
    expect((await lakeOf(data)).digest).toEqual(sameThread)
  })
})
