/**
 * `marketpipe universe import|export|show|list`: named universes in the repository, with each member's metadata.
 * A universe CSV (`universe-csv.ts`) round-trips field for field; a plain symbol list imports as tickers alone.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { Effect } from "effect"
import { readInputFile } from "../../config/input-file.ts"
import { UsageError } from "../../domain/errors.ts"
import type { SymbolMeta } from "../../domain/symbol-meta.ts"
import { readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import { Universes } from "../../repository/universes.ts"
import { parseUniverse, UNIVERSE_MAX_BYTES } from "../../universe/file.ts"
import { universeFromCsv, universeToCsv } from "../../universe/universe-csv.ts"
import { type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput, table } from "../output.ts"

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/u

const checkName = (name: string, field: string) =>
  NAME.test(name)
    ? Effect.succeed(name)
    : Effect.fail(
        new UsageError({
          field,
          reason: `${JSON.stringify(name.slice(0, 40))} is not a universe name: 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit`
        })
      )

/** A universe file's members: the universe CSV when it has a `symbol` header, else one ticker a line. */
export function membersOf(text: string, file: string): Array<SymbolMeta> {
  const header =
    text
      .replace(/^\uFEFF/u, "")
      .split(/\r?\n/u)
      .find((l) => l.trim() !== "" && !l.trim().startsWith("#")) ?? ""
  if (/(^|,)\s*"?symbol"?\s*(,|$)/iu.test(header)) return universeFromCsv(text, file)
  return parseUniverse(text, file).map((symbol) => ({ symbol }))
}

const missing = (name: string) =>
  new UsageError({ field: "NAME", reason: `no universe named ${name}; see \`marketpipe universe list\`` })

export const universeImportMain = (
  flags: CommonFlags & { readonly file: string; readonly name: string },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const name = yield* checkName(flags.name, "--name")
    const path = resolve(environment.cwd, flags.file)
    if (!existsSync(path)) return yield* new UsageError({ field: "FILE", reason: `${path} does not exist` })
    const members = yield* Effect.try({
      try: () => membersOf(readInputFile(path, UNIVERSE_MAX_BYTES, "FILE", "universe file"), path),
      catch: (e) => (e instanceof UsageError ? e : new UsageError({ field: "FILE", reason: String(e) }))
    })
    const app = yield* loadApp(flags, environment)
    const saved = yield* Universes.use((u) => u.save({ name, source: `import ${path}`, members })).pipe(
      Effect.provide(storageLayer(app))
    )
    const out = makeOutput({ json: flags.json, tty: false })
    out.result(flags.json ? JSON.stringify(saved) : `universe ${name}: ${saved.members} symbols, imported from ${path}`)
  })

export const universeExportMain = (
  flags: CommonFlags & { readonly name: string; readonly out: string },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const universe = yield* Universes.use((u) => u.get(flags.name)).pipe(Effect.provide(readStorageLayer(app)))
    if (universe === undefined) return yield* missing(flags.name)
    const target = resolve(environment.cwd, flags.out)
    // Written beside the target and renamed over it: an interrupted export leaves the old file or none, never half.
    const temp = join(dirname(target), `.${flags.name}.${process.pid}.csv.tmp`)
    yield* Effect.try({
      try: () => {
        writeFileSync(temp, universeToCsv(universe.memberList))
        renameSync(temp, target)
      },
      catch: (e) => {
        rmSync(temp, { force: true })
        return new UsageError({ field: "OUT", reason: `cannot write ${target}: ${(e as Error).message}` })
      }
    })
    const out = makeOutput({ json: flags.json, tty: false })
    out.result(
      flags.json
        ? JSON.stringify({ name: flags.name, file: target, members: universe.memberList.length })
        : `universe ${flags.name}: ${universe.memberList.length} symbols written to ${target}`
    )
  })

const cell = (v: string | number | undefined) => (v === undefined ? "" : v)

export const universeShowMain = (
  flags: CommonFlags & { readonly name: string; readonly csv: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const universe = yield* Universes.use((u) => u.get(flags.name)).pipe(Effect.provide(readStorageLayer(app)))
    if (universe === undefined) return yield* missing(flags.name)
    if (flags.csv) return process.stdout.write(universeToCsv(universe.memberList))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify(universe))
    out.result(
      [
        `universe ${universe.name}: ${universe.members} symbols (${universe.source}${universe.asOf === undefined ? "" : `, as of ${universe.asOf}`}, saved ${universe.createdAt})`,
        table(
          ["symbol", "name", "exchange", "type", "sector", "market cap", "avg volume"],
          universe.memberList.map((m) => [
            m.symbol,
            cell(m.name),
            cell(m.exchange),
            cell(m.type),
            cell(m.sector),
            cell(m.marketCap),
            cell(m.avgVolume)
          ])
        )
      ].join("\n")
    )
  })

export const universeListMain = (flags: CommonFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const all = yield* Universes.use((u) => u.list()).pipe(Effect.provide(readStorageLayer(app)))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify(all))
    if (all.length === 0) return out.result("no universes yet; `marketpipe universe import FILE --name NAME` makes one")
    out.result(
      table(
        ["name", "symbols", "source", "as of", "saved"],
        all.map((u) => [u.name, u.members, u.source, u.asOf ?? "", u.createdAt])
      )
    )
  })
