// The volume-spike rule's trailing median, against sorting the last `window` values each time.
import { describe, expect, test } from "bun:test"
import { trailingMedian } from "../../src/domain/validation.ts"

function random(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe("trailingMedian", () => {
  test("equals the upper median of the last `window` values, with repeats, for windows 0-40", () => {
    const next = random(5)
    for (let window = 0; window <= 40; window++) {
      const m = trailingMedian(window)
      const seen: Array<number> = []
      for (let i = 0; i < 300; i++) {
        // Few distinct values, so equal volumes enter and leave the window often.
        const x = next() < 0.5 ? Math.floor(next() * 5) : Math.floor(next() * 1e6)
        m.push(x)
        seen.push(x)
        const last = seen.slice(Math.max(0, seen.length - window)).sort((a, b) => a - b)
        expect(m.size()).toBe(Math.min(seen.length, window))
        expect(m.median()).toBe(last.length === 0 ? Number.NaN : (last[last.length >> 1] as number))
      }
    }
  })
})
