/** Checks and wording every plugin's wire decoder shares. */

/** The earliest and the end of the latest bar start the lake can file under a day: 0001-01-01 to 9999-12-31 UTC. */
const FIRST_MS = -62_135_596_800_000
const END_MS = 253_402_214_400_000

/** A bar start the lake can file under a day: whole milliseconds from 0001-01-01 to 9999-12-31 UTC. */
export const isBarTime = (ms: unknown): ms is number =>
  Number.isSafeInteger(ms) && (ms as number) >= FIRST_MS && (ms as number) < END_MS

/** A wire value for an error message, at most 120 characters (one nested too deep to print is named so). */
export function shownWire(value: unknown): string {
  try {
    return String(JSON.stringify(value ?? null)).slice(0, 120)
  } catch {
    return "(a value nested too deep to print)"
  }
}
