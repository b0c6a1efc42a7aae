/**
 * A growable byte buffer: the file under construction, and the scratch space a page body is built in before it is
 * compressed. One per `encodeBars` call (the writer keeps no state between calls, so it can run in worker threads).
 */
export class ByteWriter {
  private buf: Uint8Array
  /** Bytes written so far; `reset` rewinds it so a scratch writer is reused without reallocating. */
  pos = 0

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity))
  }

  /** Makes room for `n` more bytes (doubling, so appends stay amortised O(1)). */
  ensure(n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  reset(): void {
    this.pos = 0
  }

  u8(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  u32le(n: number): void {
    this.ensure(4)
    const p = this.pos
    this.buf[p] = n & 0xff
    this.buf[p + 1] = (n >>> 8) & 0xff
    this.buf[p + 2] = (n >>> 16) & 0xff
    this.buf[p + 3] = (n >>> 24) & 0xff
    this.pos += 4
  }

  /** Unsigned LEB128 of a non-negative integer up to 2^53 (the arithmetic stays exact past 32 bits). */
  varint(n: number): void {
    this.ensure(8)
    let v = n
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
  }

  /** Zero bytes the caller fills through `view` (bit-packed runs are ORed in place). */
  zeros(n: number): number {
    this.ensure(n)
    const at = this.pos
    this.buf.fill(0, at, at + n)
    this.pos += n
    return at
  }

  /** The live backing array: valid until the next append. */
  get view(): Uint8Array {
    return this.buf
  }

  /** The bytes written so far, as a view (valid until the next append or `reset`). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }
}

/** Zigzag of a signed integer, exact up to ±2^52 (Thrift i32/i64 and the delta encoding's minimum delta). */
export const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)
