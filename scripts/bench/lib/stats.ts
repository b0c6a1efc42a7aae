/** The median of a sample (the mean of the middle two for an even count). */
export function median(xs: ReadonlyArray<number>): number {
  if (xs.length === 0) throw new Error("median of no values")
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** `1,234,567`: counts and rates as the tables show them. */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`

export const millis = (ms: number): string => `${ms.toFixed(1)} ms`

export const megabytes = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`

export const ratio = (x: number): string => `${x.toFixed(2)}×`
