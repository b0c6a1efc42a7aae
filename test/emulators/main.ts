#!/usr/bin/env bun
/**
 * Runs the provider emulator as a command, for demos and benchmarks:
 *   bun test/emulators/main.ts [--port 8099] [--rate-limit alpaca=200/60] [--faults '{"error5xxRate":0.1}']
 * Point a plugin at it with MARKETPIPE_<PROVIDER>_BASE_URL=http://127.0.0.1:<port> and the keys it prints.
 */
import { parseArgs } from "node:util"
import type { Faults } from "./server.ts"
import { startEmulator } from "./server.ts"
import { parseRateLimits } from "./types.ts"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8099" },
    host: { type: "string", default: "127.0.0.1" },
    "rate-limit": { type: "string", multiple: true },
    faults: { type: "string" },
    seed: { type: "string" }
  }
})

const rateLimits = parseRateLimits(values["rate-limit"] ?? [])
const emulator = await startEmulator({
  port: Number(values.port),
  host: values.host,
  rateLimits,
  ...(values.faults ? { faults: JSON.parse(values.faults) as Partial<Faults> } : {}),
  ...(values.seed ? { seed: values.seed } : {})
})
console.log(`emulator listening on ${emulator.url}`)
console.log(
  `  MARKETPIPE_ALPACA_BASE_URL=${emulator.url} ALPACA_KEY=${emulator.keys.alpaca.id} ALPACA_SECRET=${emulator.keys.alpaca.secret}`
)
console.log(`  MARKETPIPE_POLYGON_BASE_URL=${emulator.url} POLYGON_API_KEY=${emulator.keys.polygon}`)
console.log(`  MARKETPIPE_FINNHUB_BASE_URL=${emulator.url} FINNHUB_API_KEY=${emulator.keys.finnhub}`)
console.log(`  MARKETPIPE_YAHOO_BASE_URL=${emulator.url}`)
const stop = () => void emulator.stop().then(() => process.exit(0))
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
