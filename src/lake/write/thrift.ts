/**
 * Thrift's compact protocol, write side only, and only what Parquet's footer and page headers use: i32, i64, bool,
 * binary, lists and nested structs. Fields must be written in increasing id order within a struct, as the footer
 * and page-header writers do.
 */
import { type ByteWriter, zigzag } from "./byte-writer.ts"

/** Compact-protocol type ids. */
const TType = { True: 1, False: 2, I32: 5, I64: 6, Binary: 8, List: 9, Struct: 12 } as const

const utf8 = new TextEncoder()

export class CompactWriter {
  private last = 0
  private readonly outer: Array<number> = []

  constructor(readonly out: ByteWriter) {}

  private field(id: number, type: number): void {
    const delta = id - this.last
    if (delta > 0 && delta <= 15) this.out.u8((delta << 4) | type)
    else {
      this.out.u8(type)
      this.out.varint(zigzag(id))
    }
    this.last = id
  }

  i32(id: number, v: number): void {
    this.field(id, TType.I32)
    this.out.varint(zigzag(v))
  }

  /** An i64 from a number: exact for the sizes, offsets and counts of a file far under 2^53 bytes. */
  i64(id: number, v: number): void {
    this.field(id, TType.I64)
    this.out.varint(zigzag(v))
  }

  bool(id: number, v: boolean): void {
    this.field(id, v ? TType.True : TType.False)
  }

  binary(id: number, b: Uint8Array): void {
    this.field(id, TType.Binary)
    this.out.varint(b.length)
    this.out.bytes(b)
  }

  string(id: number, s: string): void {
    this.binary(id, utf8.encode(s))
  }

  /** A nested struct: `body` writes its fields (ids restart from zero inside it). */
  struct(id: number, body: () => void): void {
    this.field(id, TType.Struct)
    this.begin()
    body()
    this.end()
  }

  /** A struct with no field header: the top level of a footer or page header, or an element of a list. */
  begin(): void {
    this.outer.push(this.last)
    this.last = 0
  }

  end(): void {
    this.out.u8(0)
    this.last = this.outer.pop() ?? 0
  }

  private listHeader(id: number, element: number, size: number): void {
    this.field(id, TType.List)
    if (size < 15) this.out.u8((size << 4) | element)
    else {
      this.out.u8(0xf0 | element)
      this.out.varint(size)
    }
  }

  listI32(id: number, values: ReadonlyArray<number>): void {
    this.listHeader(id, TType.I32, values.length)
    for (const v of values) this.out.varint(zigzag(v))
  }

  listString(id: number, values: ReadonlyArray<string>): void {
    this.listHeader(id, TType.Binary, values.length)
    for (const v of values) {
      const b = utf8.encode(v)
      this.out.varint(b.length)
      this.out.bytes(b)
    }
  }

  listStruct<A>(id: number, items: ReadonlyArray<A>, body: (item: A) => void): void {
    this.listHeader(id, TType.Struct, items.length)
    for (const item of items) {
      this.begin()
      body(item)
      this.end()
    }
  }
}
