/**
 * A scheduled command line, both ways: `--command "ohlcv backfill --universe core"` split into arguments the way a
 * shell would (single quotes, double quotes, backslashes), and arguments written back for the two readers of a
 * schedule: systemd's `ExecStart=` (its own quoting, `%` specifiers) and the `sh` that cron starts. The characters
 * that would make a shell run more than one marketpipe command (`; | & $` and backticks, line breaks) are refused
 * outright, so a schedule runs exactly the arguments it shows.
 */
import { shown, UsageError } from "../domain/errors.ts"

/** Characters a scheduled command may not hold anywhere, quoted or not: a shell would act on them. */
const FORBIDDEN = /[;|&$`]/u
/** Whether `text` holds a control character other than the tab (a separator like the space): a line break, say. */
const hasControl = (text: string) =>
  Array.from(text).some((c) => {
    const code = c.charCodeAt(0)
    return (code < 0x20 && c !== "\t") || code === 0x7f
  })

/** Arguments neither systemd nor sh read specially: written as they are. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/u

const refused = (field: string, text: string, why: string) =>
  new UsageError({
    field,
    reason: `${shown(text)} ${why}; give marketpipe's arguments only, quoted like a shell's ('…' or "…") where one holds spaces`
  })

/**
 * `text` as arguments: whitespace separates them; '…' keeps everything literally; "…" keeps everything but `\"` and
 * `\\`, which stand for `"` and `\`; outside quotes a backslash keeps the next character. Throws a `UsageError`
 * naming `field` for an unterminated quote, a trailing backslash, a forbidden character or nothing at all.
 */
export function splitCommand(text: string, field = "--command"): Array<string> {
  const forbidden = FORBIDDEN.exec(text)
  if (forbidden !== null) {
    throw refused(field, text, `holds ${forbidden[0]}, which would have the shell run more than marketpipe`)
  }
  if (hasControl(text)) throw refused(field, text, "holds a line break or another control character")
  const args: Array<string> = []
  let current = ""
  let inWord = false
  let quote: "'" | '"' | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quote === "'") {
      if (c === "'") quote = undefined
      else current += c
    } else if (quote === '"') {
      const next = text[i + 1]
      if (c === '"') quote = undefined
      else if (c === "\\" && (next === '"' || next === "\\")) current += text[++i]
      else current += c
    } else if (c === " " || c === "\t") {
      if (inWord) args.push(current)
      current = ""
      inWord = false
    } else {
      inWord = true
      if (c === "'" || c === '"') quote = c
      else if (c !== "\\") current += c
      else if (i + 1 < text.length) current += text[++i]
      else throw refused(field, text, "ends in a backslash")
    }
  }
  if (quote !== undefined) throw refused(field, text, `has a ${quote} that is never closed`)
  if (inWord) args.push(current)
  if (args.length === 0) throw refused(field, text, "names no command")
  return args
}

/** One argument for `sh`: as it is when plain, else in single quotes (a `'` inside becomes `'\''`). */
export const shellQuote = (arg: string): string => (PLAIN.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)

/** Arguments as one `sh` command line. */
export const shellLine = (args: ReadonlyArray<string>): string => args.map(shellQuote).join(" ")

/**
 * One argument for a systemd `ExecStart=` line: `%` doubled (systemd expands `%x` specifiers) and `$` doubled
 * (it expands `$VAR`); in double quotes with `\` and `"` escaped unless plain.
 */
export function systemdQuote(arg: string): string {
  const quoted = PLAIN.test(arg) ? arg : `"${arg.replace(/[\\"]/gu, "\\$&")}"`
  return quoted.replaceAll("%", "%%").replaceAll("$", "$$$$")
}

/** Arguments as the value of a systemd `ExecStart=`. */
export const systemdLine = (args: ReadonlyArray<string>): string => args.map(systemdQuote).join(" ")
