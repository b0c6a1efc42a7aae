/**
 * `marketpipe ohlcv export`: bars of symbols over days out of the lake as CSV or NDJSON, the lake as it is or, with
 * `--as-of`, as it was then. Symbols are read one at a time (memory stays one symbol's range), and a file is written
 * to a temp name and renamed when complete, so a failed export leaves no partial file behind.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Effect, Option } from "effect"
import { addDays } from "../../domain/calendar.ts"
import { StorageError, UsageError } from "../../domain/errors.ts"
import type { Timeframe } from "../../domain/timeframe.ts"
import { loadOhlcvEffect, type OhlcvFrame, type SessionFilter } from "../../lake/load/load-ohlcv.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseDay, parseSymbols } from "../inputs.ts"
import { makeOutput } from "../output.ts"

export interface ExportFlags extends CommonFlags {
  readonly symbols: string
  readonly from: string
  readonly to: string
  readonly frame: Option.Option<Timeframe>
  readonly session: Option.Option<SessionFilter>
  readonly format: Option.Option<"csv" | "ndjson">
  readonly asOf: Option.Option<string>
  /** Prices as stored (`none`, the default), or adjusted for splits, or for splits and dividends. */
  readonly adjust?: Option.Option<"none" | "split" | "all">
  /** A file, or `-` for standard output (the default). */
  readonly out: Option.Option<string>
}

const HEADER = ["symbol", "ts", "open", "high", "low", "close", "volume", "trade_count", "vwap", "is_partial"] as const

/** A number as CSV and JSON take it: NaN (not reported) is empty / null. */
const num = (v: number) => (Number.isNaN(v) ? "" : String(v))

function* lines(frame: OhlcvFrame, format: "csv" | "ndjson"): Generator<string> {
  for (let i = 0; i < frame.length; i++) {
    const ts = new Date(frame.ts[i] as number).toISOString()
    const values = [frame.open, frame.high, frame.low, frame.close, frame.volume, frame.trade_count, frame.vwap].map(
      (c) => c[i] as number
    )
    const partial = frame.is_partial[i] === 1
    if (format === "csv") yield `${frame.symbols[i]},${ts},${values.map(num).join(",")},${partial}\n`
    else {
      const row: Record<string, unknown> = { symbol: frame.symbols[i], ts }
      HEADER.slice(2, 9).forEach((name, k) => {
        const v = values[k] as number
        row[name] = Number.isNaN(v) ? null : v
      })
      row.is_partial = partial
      yield `${JSON.stringify(row)}\n`
    }
  }
}

/** Where the lines go: stdout, or a temp file renamed over the target once every line is in it. */
function openTarget(out: string | undefined) {
  if (out === undefined || out === "-") {
    return { write: (s: string) => void process.stdout.write(s), commit: () => undefined, abort: () => undefined }
  }
  const temp = `${out}.mp-export-${process.pid}`
  const fd = openSync(temp, "w", 0o644)
  let open = true
  const close = () => {
    if (open) closeSync(fd)
    open = false
  }
  return {
    write: (s: string) => void writeSync(fd, s),
    commit: () => {
      fsyncSync(fd)
      close()
      renameSync(temp, out)
    },
    abort: () => {
      close()
      rmSync(temp, { force: true })
    }
  }
}

export const exportMain = (flags: ExportFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const out = makeOutput({ json: flags.json, tty: process.stderr.isTTY === true })
    const symbols = yield* checkInput(() => parseSymbols("--symbols", flags.symbols))
    const from = yield* checkInput(() => parseDay("--from", flags.from))
    const to = yield* checkInput(() => parseDay("--to", flags.to))
    if (from > to) return yield* new UsageError({ field: "--from", reason: `${from} is after --to ${to}` })
    const format = Option.getOrElse(flags.format, () => "csv" as const)
    const path = Option.map(flags.out, (p) => (p === "-" ? p : resolve(environment.cwd, p)))
    const target = yield* Effect.try({
      try: () => openTarget(Option.getOrUndefined(path)),
      catch: (e) =>
        new UsageError({ field: "--out", reason: `cannot write ${dirname(Option.getOrElse(path, () => "-"))}: ${e}` })
    })
    const asOf = Option.getOrUndefined(flags.asOf)
    let rows = 0
    yield* Effect.gen(function* () {
      if (format === "csv") target.write(`${HEADER.join(",")}\n`)
      for (const symbol of symbols) {
        const frame = yield* loadOhlcvEffect({
          symbols: symbol,
          start: from,
          end: addDays(to, 1),
          timeframe: Option.getOrElse(flags.frame, () => "1m" as const),
          session: Option.getOrElse(flags.session, () => "all" as const),
          dataDir: app.loaded.dataDir,
          databaseUrl: app.loaded.databaseUrl,
          adjust: Option.getOrElse(flags.adjust ?? Option.none(), () => "none" as const),
          ...(asOf === undefined ? {} : { asOf })
        }).pipe(
          Effect.mapError((e) =>
            e._tag === "UsageError" && (e.field === "asOf" || e.field === "adjust")
              ? new UsageError({ field: `--${e.field === "asOf" ? "as-of" : "adjust"}`, reason: e.reason })
              : e
          )
        )
        // A few thousand lines a write: one system call per bar would dominate a large export.
        let chunk: Array<string> = []
        for (const line of lines(frame, format)) {
          chunk.push(line)
          if (chunk.length === 4096) {
            target.write(chunk.join(""))
            chunk = []
          }
        }
        if (chunk.length > 0) target.write(chunk.join(""))
        rows += frame.length
      }
      yield* Effect.try({
        try: () => target.commit(),
        catch: (e) => new StorageError({ path: Option.getOrElse(path, () => "-"), reason: String(e) })
      })
    }).pipe(Effect.onError(() => Effect.sync(() => target.abort())))
    const where = Option.getOrElse(path, () => "-")
    if (where !== "-") {
      out.result(
        flags.json
          ? JSON.stringify({ file: where, rows, symbols: symbols.length, as_of: asOf ?? null })
          : `exported ${rows} bar(s) of ${symbols.length} symbol(s) to ${where}${asOf === undefined ? "" : ` as of ${asOf}`}`
      )
    }
  })
