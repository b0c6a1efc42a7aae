/** How a doctor's results are printed: one aligned line per result and a count, or the `--json` document. */
import type { CheckResult } from "./check.ts"

/** The name column is at least this wide, so the usual checks line up whatever the providers are called. */
const NAME_WIDTH = 12

/** `pass  config       /etc/marketpipe.yaml parses (config_version 1)`, one line per result, then the counts. */
export function formatReport(results: ReadonlyArray<CheckResult>): string {
  const width = Math.max(NAME_WIDTH, ...results.map((r) => r.name.length))
  const lines = results.map((r) => `${r.status}  ${r.name.padEnd(width)} ${r.detail}`)
  const count = (status: CheckResult["status"]) => results.filter((r) => r.status === status).length
  const failed = count("fail")
  lines.push(
    `${count("pass")} passed, ${count("warn")} warning(s), ${failed} failed${failed > 0 ? "" : ": ready to run"}`
  )
  return lines.join("\n")
}

/** `{ checks: [{ name, status, detail }], ok }`: `ok` is false when any check failed (warnings leave it true). */
export const doctorJson = (results: ReadonlyArray<CheckResult>) => ({
  checks: results.map(({ name, status, detail }) => ({ name, status, detail })),
  ok: results.every((r) => r.status !== "fail")
})
