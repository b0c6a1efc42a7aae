/**
 * The direct lake writer's encodings (`src/lake/write/`), each read back by hyparquet's own decoders: Thrift compact
 * structs, RLE / bit-packed hybrid runs, DELTA_BINARY_PACKED integers, PLAIN INT64 words, and the statistics rules
 * readers prune by.
 */
import { describe, expect, test } from "bun:test"
import { deltaBinaryUnpack } from "hyparquet/src/delta.js"
import { readRleBitPackedHybrid } from "hyparquet/src/encoding.js"
import { deserializeTCompactProtocol } from "hyparquet/src/thrift.js"
import { prng } from "../../plugins/fake/generate.ts"
import { bitLength, packInto, writeHybrid } from "../../src/lake/write/bit-packing.ts"
import { ByteWriter } from "../../src/lake/write/byte-writer.ts"
import { writeDeltaBinaryPacked } from "../../src/lake/write/delta.ts"
import {
  compareBytes,
  doubleStatistics,
  flagStatistics,
  int64Bytes,
  int64Statistics,
  textStatistics
} from "../../src/lake/write/statistics.ts"
import { CompactWriter } from "../../src/lake/write/thrift.ts"

const readerOf = (b: Uint8Array) => ({ view: new DataView(b.buffer, b.byteOffset, b.byteLength), offset: 0 })
const f64 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new Float64Array(b.slice().buffer)[0])
const i64 = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getBigInt64(0, true)

describe("Thrift compact writer", () => {
  test("structs, lists, long field gaps, negative and 2^40-sized integers read back as written", () => {
    const out = new ByteWriter(4)
    const t = new CompactWriter(out)
    t.begin()
    t.i32(1, -7)
    t.i64(2, 2 ** 40 + 3)
    t.bool(3, true)
    t.bool(4, false)
    t.string(5, "zé")
    t.struct(6, () => t.i32(1, 300))
    t.i32(40, 5) // a gap over 15 ids: the long field header
    t.listI32(41, [0, 8, -1])
    t.listString(
      42,
      Array.from({ length: 20 }, (_, i) => `c${i}`)
    ) // over 14 elements: the long list header
    t.listStruct(43, [1, 2], (x) => t.i64(1, x))
    t.end()
    const back = deserializeTCompactProtocol(readerOf(out.written()))
    expect(back.field_1).toBe(-7)
    expect(back.field_2).toBe(BigInt(2 ** 40 + 3))
    expect([back.field_3, back.field_4]).toEqual([true, false])
    expect(new TextDecoder().decode(back.field_5 as Uint8Array)).toBe("zé")
    expect(back.field_6).toEqual({ field_1: 300 })
    expect(back.field_40).toBe(5)
    expect(back.field_41).toEqual([0, 8, -1])
    expect((back.field_42 as Array<Uint8Array>).map((b) => new TextDecoder().decode(b))).toHaveLength(20)
    expect(back.field_43).toEqual([{ field_1: 1n }, { field_1: 2n }])
  })
})

/** Values the hybrid encoder meets: long runs, short runs, alternation, a tail shorter than a group. */
function levelPatterns(width: number): Array<Array<number>> {
  const rand = prng(width + 1)
  const max = 2 ** width - 1
  const random = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * (max + 1)))
  return [
    [],
    [max],
    new Array(5).fill(max),
    new Array(1000).fill(0),
    random(1),
    random(7),
    random(9),
    random(1001),
    [...new Array(13).fill(max), ...random(11), ...new Array(8).fill(0), ...random(3)],
    Array.from({ length: 300 }, (_, i) => (Math.floor(i / 7) % 2) * max) // runs of 7: never long enough for RLE
  ]
}

describe("RLE / bit-packed hybrid", () => {
  // hyparquet's bit-packed reader holds 32 bits at a time, so it is the oracle up to 24 (wider: `packInto` below).
  for (const width of [0, 1, 2, 3, 7, 8, 9, 16, 20, 24]) {
    test(`width ${width}: hyparquet decodes every pattern back`, () => {
      for (const values of levelPatterns(width)) {
        const out = new ByteWriter()
        writeHybrid(out, Uint32Array.from(values), values.length, width)
        const back = new Array<number>(values.length)
        readRleBitPackedHybrid(readerOf(out.written()), width, back, out.pos)
        expect(back).toEqual(values)
      }
    })
  }

  test("a run of one value is a few bytes, whatever its length", () => {
    const out = new ByteWriter()
    writeHybrid(out, new Uint8Array(100_000).fill(1), 100_000, 1)
    expect(out.pos).toBeLessThanOrEqual(4)
  })

  test("bit lengths up to 2^53", () => {
    expect([0, 1, 2, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 52].map(bitLength)).toEqual([0, 1, 2, 8, 9, 32, 33, 53])
  })

  test("packing 32 bits and wider keeps the high bits, from any bit offset", () => {
    for (const [width, values] of [
      [32, [2 ** 32 - 1, 0, 2 ** 31, 12_345]],
      [51, [2 ** 50 + 5, 3, 2 ** 51 - 1]]
    ] as const) {
      const b = new Uint8Array(32)
      packInto(b, 3, values, 0, values.length, width)
      expect(unpack(b, 3, width, values.length)).toEqual([...values])
    }
  })
})

/** `count` values of `width` bits from bit `start`, least significant bit first, one bit at a time. */
function unpack(b: Uint8Array, start: number, width: number, count: number): Array<number> {
  const bit = (i: number) => ((b[i >> 3] as number) >> (i & 7)) & 1
  return Array.from({ length: count }, (_, k) => {
    let v = 0
    for (let i = width - 1; i >= 0; i--) v = v * 2 + bit(start + k * width + i)
    return v
  })
}

describe("DELTA_BINARY_PACKED", () => {
  const cases: Record<string, Array<number>> = {
    empty: [],
    "one value": [1_709_562_600_000],
    "minute bars over two days": Array.from(
      { length: 1000 },
      (_, i) => 1_709_562_600_000 + Math.floor(i / 390) * 86_400_000 + (i % 390) * 60_000
    ),
    "falling and negative": Array.from({ length: 300 }, (_, i) => 5_000 - i * i * 7),
    "wide jumps": [0, 2 ** 50, -(2 ** 50), 2 ** 51, 1, 2, 3],
    "32-bit deltas": Array.from({ length: 40 }, (_, i) => (i % 2) * (2 ** 32 - 1)),
    "a block and one more": Array.from({ length: 130 }, (_, i) => i * 3)
  }
  for (const [name, values] of Object.entries(cases)) {
    test(`${name}: hyparquet decodes it back`, () => {
      const out = new ByteWriter()
      writeDeltaBinaryPacked(out, Float64Array.from(values), values.length, new Float64Array(128))
      const back = new BigInt64Array(values.length)
      const reader = readerOf(out.written())
      deltaBinaryUnpack(reader, values.length, back)
      expect(Array.from(back, Number)).toEqual(values)
      expect(reader.offset).toBe(out.pos)
    })
  }
})

describe("statistics", () => {
  test("a zero bound is -0 as min and +0 as max; NaN is counted, never a bound", () => {
    const s = doubleStatistics(Float64Array.of(0, Number.NaN, -0, 0), 4, 0)
    expect(Object.is(f64(s.min), -0)).toBe(true)
    expect(Object.is(f64(s.max), 0)).toBe(true)
    expect(s.nanCount).toBe(1)
    const all = doubleStatistics(Float64Array.of(Number.NaN), 1, 2)
    expect(all).toEqual({ nullCount: 2, nanCount: 1 })
    const some = doubleStatistics(Float64Array.of(3.5, -1e300, 7), 3, 0)
    expect([f64(some.min), f64(some.max)]).toEqual([-1e300, 7])
  })

  test("integers are signed 64-bit little-endian; none present means no bounds", () => {
    const s = int64Statistics(Float64Array.of(-(2 ** 40) - 1, 12, 2 ** 52), 3, 4)
    expect([i64(s.min), i64(s.max), s.nullCount]).toEqual([BigInt(-(2 ** 40) - 1), BigInt(2 ** 52), 4])
    expect(int64Statistics(new Float64Array(0), 0, 9)).toEqual({ nullCount: 9 })
    expect(i64(int64Bytes(-1))).toBe(-1n)
  })

  test("strings order by UTF-8 bytes, not by JavaScript's UTF-16 units", () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    // U+FF5E is above U+1F600 in UTF-16 units (the pair starts 0xD83D) but below it in UTF-8 bytes (0xEF < 0xF0).
    const entries = ["b", "\u{1F600}", "\uFF5E", "a"].map(enc)
    const s = textStatistics(entries)
    expect(new TextDecoder().decode(s.min)).toBe("a")
    expect(new TextDecoder().decode(s.max)).toBe("\u{1F600}")
    expect("\uFF5E" > "\u{1F600}").toBe(true) // JavaScript's order would have picked the other one
    expect(compareBytes(enc("ab"), enc("a"))).toBeGreaterThan(0)
    expect(textStatistics([])).toEqual({ nullCount: 0 })
  })

  test("flags: min and max as PLAIN booleans", () => {
    expect(flagStatistics(Uint8Array.of(0, 0), 2)).toEqual({
      nullCount: 0,
      min: Uint8Array.of(0),
      max: Uint8Array.of(0)
    })
    expect(flagStatistics(Uint8Array.of(1, 0), 2)).toEqual({
      nullCount: 0,
      min: Uint8Array.of(0),
      max: Uint8Array.of(1)
    })
    expect(flagStatistics(Uint8Array.of(1), 1)).toEqual({ nullCount: 0, min: Uint8Array.of(1), max: Uint8Array.of(1) })
    expect(flagStatistics(new Uint8Array(0), 0)).toEqual({ nullCount: 0 })
  })
})
