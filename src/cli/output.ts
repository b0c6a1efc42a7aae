/**
 * Where the CLI writes: results to stdout (a table, or JSON with `--json`), progress and notices to stderr. A
 * redrawn progress bar only on a TTY; plain lines otherwise so logs stay readable.
 */
import type { IngestProgress } from "../pipeline/ingest.ts"

export interface Output {
  readonly result: (text: string) => void
  readonly notice: (text: string) => void
  readonly progress: (p: IngestProgress, elapsedMs: number) => void
  readonly done: () => void
}

const bar = (fraction: number, width: number) => {
  const filled = Math.round(fraction * width)
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const finished = (p: IngestProgress) => p.partitionsDone + p.partitionsFailed

const eta = (p: IngestProgress, elapsedMs: number) => {
  if (finished(p) === 0) return "--"
  const s = Math.round(((p.partitionsTotal - finished(p)) * elapsedMs) / finished(p) / 1000)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`
}

export function makeOutput(options: { readonly json: boolean; readonly tty: boolean }): Output {
  let drawn = false
  let lastPlain = 0
  return {
    result: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    notice: (text) => {
      if (drawn) process.stderr.write("\n")
      drawn = false
      process.stderr.write(`${text}\n`)
    },
    progress: (p, elapsedMs) => {
      const rate = elapsedMs > 0 ? Math.round((p.barsWritten * 1000) / elapsedMs) : 0
      const counts = `${finished(p)}/${p.partitionsTotal} partitions  ${p.partitionsDone} ok  ${p.partitionsFailed} failed  ${p.barsWritten} bars  ${rate} bars/s`
      if (options.tty && !options.json) {
        const fraction = p.partitionsTotal === 0 ? 1 : finished(p) / p.partitionsTotal
        process.stderr.write(`\r${bar(fraction, 24)} ${counts}  ETA ${eta(p, elapsedMs)}\u001b[K`)
        drawn = true
      } else if (!options.json && (finished(p) === p.partitionsTotal || elapsedMs - lastPlain >= 2000)) {
        lastPlain = elapsedMs
        process.stderr.write(`progress ${counts}\n`)
      }
    },
    done: () => {
      if (drawn) process.stderr.write("\n")
      drawn = false
    }
  }
}

/** A plain text table with a header row. */
export function table(header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)))
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? "").padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}
