/** Content hash of a day's bars: equal hashes mean equal rows, so the ledger can tell a changed day from a re-run. */
import { createHash } from "node:crypto"
import type { BarBatch } from "../domain/bar.ts"

export function batchHash(b: BarBatch): string {
  const h = createHash("sha256")
  for (const col of [b.ts, b.open, b.high, b.low, b.close, b.volume, b.tradeCount, b.vwap]) {
    h.update(new Uint8Array(col.buffer, col.byteOffset, col.byteLength))
  }
  return h.digest("hex").slice(0, 32)
}
