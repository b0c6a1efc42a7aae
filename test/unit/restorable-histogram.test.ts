import { describe, expect, test } from "bun:test"
import { Registry } from "prom-client"
import { RestorableHistogram } from "../../src/observability/restorable-histogram.ts"

const make = (buckets: ReadonlyArray<number> = [0.1, 1]) => {
  const registry = new Registry()
  const h = new RestorableHistogram({
    name: "t_seconds",
    help: "test",
    labelNames: ["p"],
    buckets,
    registers: [registry]
  })
  return { registry, h }
}

/** `name{labels} value` lines of the registry's text exposition, as "name{labels}" -> value. */
const exposition = async (registry: Registry) =>
  new Map(
    (await registry.metrics())
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => {
        const at = l.lastIndexOf(" ")
        return [l.slice(0, at), Number(l.slice(at + 1))] as const
      })
  )

const stored = (p: string, le: Record<string, number>, sum: number, count: number) => [
  ...Object.entries(le).map(([bound, value]) => ({ name: "t_seconds_bucket", labels: { p, le: bound }, value })),
  { name: "t_seconds_sum", labels: { p }, value: sum },
  { name: "t_seconds_count", labels: { p }, value: count }
]

describe("RestorableHistogram", () => {
  test("renders a restored label set on its own and adds the baseline to live observations", async () => {
    const { registry, h } = make()
    for (const s of [...stored("a", { "0.1": 2, "1": 3, "+Inf": 4 }, 7.5, 4), ...stored("b", { "+Inf": 1 }, 9, 1)]) {
      expect(h.restore(s)).toBe(true)
    }
    h.observe({ p: "a" }, 0.5)
    const text = await exposition(registry)
    expect(text.get('t_seconds_bucket{le="0.1",p="a"}')).toBe(2)
    expect(text.get('t_seconds_bucket{le="1",p="a"}')).toBe(4)
    expect(text.get('t_seconds_bucket{le="+Inf",p="a"}')).toBe(5)
    expect(text.get('t_seconds_sum{p="a"}')).toBe(8)
    expect(text.get('t_seconds_count{p="a"}')).toBe(5)
    // Only the baseline knows "b".
    expect(text.get('t_seconds_bucket{le="1",p="b"}')).toBe(0)
    expect(text.get('t_seconds_bucket{le="+Inf",p="b"}')).toBe(1)
    expect(text.get('t_seconds_count{p="b"}')).toBe(1)
    expect(registry.getSingleMetric("t_seconds")).toBe(h as never)
    // Restoring again adds (totals are sums over runs).
    h.restore({ name: "t_seconds_count", labels: { p: "b" }, value: 2 })
    expect((await exposition(registry)).get('t_seconds_count{p="b"}')).toBe(3)
  })

  test("ignores samples of other metrics and unreadable buckets; zero() never wipes data", async () => {
    const { registry, h } = make()
    expect(h.restore({ name: "t_seconds_total", labels: { p: "a" }, value: 1 })).toBe(false)
    expect(h.restore({ name: "other_bucket", labels: { p: "a", le: "1" }, value: 1 })).toBe(false)
    expect(h.restore({ name: "t_seconds_bucket", labels: { p: "a" }, value: 1 })).toBe(false)
    expect(h.restore({ name: "t_seconds_bucket", labels: { p: "a", le: "x" }, value: 1 })).toBe(false)
    expect(await exposition(registry)).toEqual(new Map())
    h.zero({ p: "z" })
    h.observe({ p: "a" }, 0.05)
    h.zero({ p: "a" })
    const text = await exposition(registry)
    expect(text.get('t_seconds_count{p="a"}')).toBe(1)
    expect(text.get('t_seconds_bucket{le="+Inf",p="z"}')).toBe(0)
    h.reset()
    expect(await exposition(registry)).toEqual(new Map())
  })

  test("buckets changed since the history was stored: dropped bounds are ignored, new ones stay cumulative", async () => {
    const { registry, h } = make([0.1, 0.5, 1])
    // Stored with bounds 0.1, 0.25 and 1: 0.25 is gone, 0.5 is new.
    for (const s of stored("a", { "0.1": 1, "0.25": 3, "1": 6, "+Inf": 7 }, 10, 7)) h.restore(s)
    const text = await exposition(registry)
    expect(text.has('t_seconds_bucket{le="0.25",p="a"}')).toBe(false)
    expect(text.get('t_seconds_bucket{le="0.1",p="a"}')).toBe(1)
    expect(text.get('t_seconds_bucket{le="0.5",p="a"}')).toBe(3)
    expect(text.get('t_seconds_bucket{le="1",p="a"}')).toBe(6)
    expect(text.get('t_seconds_bucket{le="+Inf",p="a"}')).toBe(7)
  })
})
