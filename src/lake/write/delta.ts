/**
 * DELTA_BINARY_PACKED for integer columns held as numbers (timestamps in ms): blocks of 128 deltas in 4 miniblocks
 * of 32, the layout most writers use and the lake's reader (`read/page-decoder.ts`) decodes directly. Minute bars
 * step by a constant within a day, so nearly every miniblock packs at width 0.
 */
import { bitLength, packInto } from "./bit-packing.ts"
import { type ByteWriter, zigzag } from "./byte-writer.ts"

const BLOCK = 128
const MINIBLOCKS = 4
const PER_MINIBLOCK = BLOCK / MINIBLOCKS

/**
 * Encodes `values[0, n)`: integers whose neighbours differ by less than 2^52 in magnitude (the caller checks the
 * range), so every delta and every delta minus the block's minimum is exact in a double. `deltas` is scratch space
 * of at least 128 entries.
 */
export function writeDeltaBinaryPacked(out: ByteWriter, values: Float64Array, n: number, deltas: Float64Array): void {
  out.varint(BLOCK)
  out.varint(MINIBLOCKS)
  out.varint(n)
  out.varint(zigzag(n > 0 ? (values[0] as number) : 0))
  const widths = new Uint8Array(MINIBLOCKS)
  for (let start = 1; start < n; start += BLOCK) {
    const count = Math.min(BLOCK, n - start)
    let min = Number.POSITIVE_INFINITY
    for (let i = 0; i < count; i++) {
      const d = (values[start + i] as number) - (values[start + i - 1] as number)
      deltas[i] = d
      if (d < min) min = d
    }
    // Unused miniblocks of the last block keep width 0 and take no bytes, as the format says.
    widths.fill(0)
    for (let m = 0; m * PER_MINIBLOCK < count; m++) {
      let max = 0
      const end = Math.min(count, (m + 1) * PER_MINIBLOCK)
      for (let i = m * PER_MINIBLOCK; i < end; i++) {
        const d = (deltas[i] as number) - min
        deltas[i] = d
        if (d > max) max = d
      }
      widths[m] = bitLength(max)
    }
    out.varint(zigzag(min))
    out.bytes(widths)
    for (let m = 0; m * PER_MINIBLOCK < count; m++) {
      const width = widths[m] as number
      if (width === 0) continue
      // A miniblock is always 32 values wide: the last one is padded with zero bits.
      const at = out.zeros((PER_MINIBLOCK * width) / 8)
      const from = m * PER_MINIBLOCK
      packInto(out.view, at * 8, deltas, from, Math.min(count, from + PER_MINIBLOCK), width)
    }
  }
}
