/**
 * What `marketpipe doctor` is made of: checks that each end in one or more results (pass, warn or fail, with a line
 * of detail), run side by side so that one failing, or even crashing, never keeps the others from reporting. The
 * checks themselves are the other files of this folder; `run.ts` lists them, `format.ts` prints them.
 */
import { Cause, Data, Effect } from "effect"

export type CheckStatus = "pass" | "warn" | "fail"

export interface CheckResult {
  readonly name: string
  readonly status: CheckStatus
  readonly detail: string
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: "pass", detail })
export const warn = (name: string, detail: string): CheckResult => ({ name, status: "warn", detail })
export const fail = (name: string, detail: string): CheckResult => ({ name, status: "fail", detail })

/** The worst of some statuses: fail over warn over pass (pass for none). */
export const worst = (statuses: ReadonlyArray<CheckStatus>): CheckStatus =>
  statuses.includes("fail") ? "fail" : statuses.includes("warn") ? "warn" : "pass"

/** A check: its name (for the fail line when it breaks) and the effect that finds its results. */
export interface Check<R = never> {
  readonly name: string
  readonly run: Effect.Effect<CheckResult | ReadonlyArray<CheckResult>, unknown, R>
}

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/** A check's results; a typed failure or a defect becomes one fail result naming it, so the next check still runs. */
export const guarded = <R>(check: Check<R>): Effect.Effect<ReadonlyArray<CheckResult>, never, R> =>
  check.run.pipe(
    Effect.map((found) => (Array.isArray(found) ? found : [found as CheckResult])),
    Effect.catchCause((cause) => {
      // Ctrl-C stops the doctor; it is not a finding.
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.findErrorOption(cause)
      const detail = error._tag === "Some" ? messageOf(error.value) : Cause.pretty(cause).split("\n")[0]
      return Effect.succeed([fail(check.name, detail ?? "the check broke")])
    })
  )

/** Every check's results, in the order the checks are listed (they run concurrently). */
export const runChecks = <R>(checks: ReadonlyArray<Check<R>>): Effect.Effect<ReadonlyArray<CheckResult>, never, R> =>
  Effect.all(checks.map(guarded), { concurrency: "unbounded" }).pipe(Effect.map((results) => results.flat()))

/** Some check failed (exit 1); the report naming them has been printed. Warnings alone never fail the run. */
export class DoctorFailed extends Data.TaggedError("DoctorFailed")<{ readonly checks: ReadonlyArray<string> }> {
  override get message(): string {
    return `doctor: ${this.checks.length} check(s) failed: ${this.checks.join(", ")}`
  }
}
