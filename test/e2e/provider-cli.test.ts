import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { alpacaEnv, type Emulator, startEmulator } from "../emulators/server.ts"
import { runSource, runSourceAsync } from "../support/cli.ts"
import { lakeDigest } from "../support/lake.ts"
import { listFiles, useTempDirs } from "../support/temp.ts"

let emulator: Emulator
const fresh = useTempDirs("mp-provider-cli-")
beforeAll(async () => {
  emulator = await startEmulator()
})
afterAll(async () => {
  await emulator.stop()
})

const args = [
  "ohlcv",
  "ingest",
  "--provider",
  "alpaca",
  "--feed",
  "sip",
  "--symbols",
  "AAPL,MSFT",
  "--start",
  "2024-03-07",
  "--end",
  "2024-03-08"
]

describe("a real provider from the CLI, against the emulator", () => {
  test("base URL and keys from the environment: the lake equals the fake provider's", async () => {
    const cwd = fresh()
    const env = {
      ...alpacaEnv(emulator)
    }
    const r = await runSourceAsync(args, { cwd, env })
    expect(r.stderr).not.toMatch(/error/)
    expect(r.code).toBe(0)
    const direct = fresh()
    expect(
      runSource(
        [
          "ohlcv",
          "ingest",
          "--provider",
          "fake",
          "--symbols",
          "AAPL,MSFT",
          "--start",
          "2024-03-07",
          "--end",
          "2024-03-08"
        ],
        { cwd: direct }
      ).code
    ).toBe(0)
    expect(await lakeDigest(join(cwd, "data"))).toEqual(await lakeDigest(join(direct, "data")))
  })

  test("rejected keys: exit 1, the message names the credentials, no key anywhere in output or files", async () => {
    const cwd = fresh()
    const secret = "not-the-right-secret-9876"
    const r = await runSourceAsync(args, {
      cwd,
      env: { MARKETPIPE_ALPACA_BASE_URL: emulator.url, ALPACA_KEY: "PKWRONGKEYID77", ALPACA_SECRET: secret }
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/Alpaca rejected the credentials .*check ALPACA_KEY and ALPACA_SECRET/)
    for (const text of [r.stdout, r.stderr, ...listFiles(cwd).map((f) => readFileSync(join(cwd, f), "latin1"))]) {
      expect(text.includes(secret)).toBe(false)
      expect(text.includes("PKWRONGKEYID77")).toBe(false)
    }
  })

  test("missing keys: exit 2 before anything is written, naming the variables", () => {
    const cwd = fresh()
    const r = runSource(args, { cwd, env: { MARKETPIPE_ALPACA_BASE_URL: emulator.url } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/set ALPACA_KEY and ALPACA_SECRET/)
    expect(listFiles(cwd)).toEqual([])
  })
})
