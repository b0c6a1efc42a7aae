/**
 * Bit packing as Parquet lays it out (least significant bit first), and the RLE / bit-packed hybrid built on it:
 * definition levels, dictionary indexes and PLAIN booleans.
 */
import type { ByteWriter } from "./byte-writer.ts"

/** Bits needed for a non-negative integer up to 2^53 (0 for 0). */
export const bitLength = (n: number): number =>
  n < 4_294_967_296 ? 32 - Math.clz32(n) : 64 - Math.clz32(Math.floor(n / 4_294_967_296))

/** ORs `width` low bits of `v` (< 2^32) into `b` from bit `bit`. */
function put32(b: Uint8Array, bit: number, v: number, width: number): void {
  let x = v >>> 0
  let p = bit
  let left = width
  while (left > 0) {
    const off = p & 7
    const take = Math.min(8 - off, left)
    b[p >> 3] = (b[p >> 3] as number) | ((x & ((1 << take) - 1)) << off)
    x >>>= take
    p += take
    left -= take
  }
}

/**
 * Packs `values[from, to)` at `width` bits each (0..53; values non-negative integers below 2^width) into zeroed
 * bytes of `b` starting at bit `bit`.
 */
export function packInto(
  b: Uint8Array,
  bit: number,
  values: ArrayLike<number>,
  from: number,
  to: number,
  width: number
): void {
  if (width === 0) return
  if (width === 1) {
    // Levels and flags: whole bytes at a time when aligned (every caller starts at a byte boundary).
    let p = bit
    let k = from
    for (; k + 8 <= to && (p & 7) === 0; k += 8, p += 8) {
      let byte = 0
      for (let j = 0; j < 8; j++) byte |= ((values[k + j] as number) & 1) << j
      b[p >> 3] = byte
    }
    for (; k < to; k++, p++) b[p >> 3] = (b[p >> 3] as number) | (((values[k] as number) & 1) << (p & 7))
    return
  }
  if (width <= 32) {
    for (let k = from, p = bit; k < to; k++, p += width) put32(b, p, values[k] as number, width)
    return
  }
  for (let k = from, p = bit; k < to; k++, p += width) {
    const v = values[k] as number
    put32(b, p, v % 4_294_967_296, 32)
    put32(b, p + 32, Math.floor(v / 4_294_967_296), width - 32)
  }
}

/** Whether `values[at, at + 8)` are all equal (a group worth an RLE run rather than packing). */
function uniformGroup(values: ArrayLike<number>, at: number, n: number): boolean {
  if (at + 8 > n) return false
  const v = values[at]
  for (let k = 1; k < 8; k++) if (values[at + k] !== v) return false
  return true
}

/**
 * Writes `values[0, n)` (non-negative integers below 2^width, width 0..32) as RLE / bit-packed hybrid runs without a
 * length prefix. A run of 8 or more equal values, or one that ends the data, is an RLE run; anything else is
 * bit-packed in groups of 8, the last group zero-padded (the format allows padding only at the end of the data,
 * which is the only place a packed run can stop short of a group).
 */
export function writeHybrid(out: ByteWriter, values: ArrayLike<number>, n: number, width: number): void {
  const valueBytes = (width + 7) >> 3
  let i = 0
  while (i < n) {
    const v = values[i] as number
    let j = i + 1
    while (j < n && values[j] === v) j++
    if (j - i >= 8 || j === n) {
      out.varint((j - i) * 2)
      for (let k = 0; k < valueBytes; k++) out.u8(Math.floor(v / 2 ** (8 * k)) & 0xff)
      i = j
      continue
    }
    let end = i + 8
    while (end < n && !uniformGroup(values, end, n)) end += 8
    const stop = Math.min(end, n)
    const groups = Math.ceil((stop - i) / 8)
    out.varint(groups * 2 + 1)
    const at = out.zeros(groups * width)
    packInto(out.view, at * 8, values, i, stop, width)
    i = stop
  }
}
