/**
 * `marketpipe universe import|export|show|list`: named universes in the repository, with each member's metadata.
 * A universe CSV (`universe-csv.ts`) round-trips field for field; a plain symbol list imports as tickers alone.
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, Option } from "effect"
import { readInputFile } from "../../config/input-file.ts"
import { UsageError } from "../../domain/errors.ts"
import type { SymbolMeta } from "../../domain/symbol-meta.ts"
import { tempPathFor } from "../../lake/atomic-file.ts"
import { readStorageLayer, storageLayer } from "../../pipeline/context.ts"
import { SymbolSnapshots } from "../../repository/symbol-snapshots.ts"
import { Universes } from "../../repository/universes.ts"
import { type DiffEntry, type Side, universeDiff } from "../../universe/diff.ts"
import { hasSymbolHeader, parseUniverse, UNIVERSE_MAX_BYTES } from "../../universe/file.ts"
import { selectSymbols } from "../../universe/filters.ts"
import { loadFilters } from "../../universe/load-filters.ts"
import { mergedAsOf, metadataAsOf } from "../../universe/merge-meta.ts"
import { universeFromCsv, universeToCsv } from "../../universe/universe-csv.ts"
import { type App, type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput, table } from "../output.ts"
import { providerSnapshots, type ReferenceFlags, referenceOptions, storeSnapshots } from "./universe-refresh.ts"

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
  if (hasSymbolHeader(text)) return universeFromCsv(text, file)
  return parseUniverse(text, file).map((symbol) => ({ symbol }))
}

const missing = (name: string) =>
  new UsageError({ field: "NAME", reason: `no universe named ${name}; see \`marketpipe universe list\`` })

/** The saved universe `name`, or a usage error saying there is none. */
const savedUniverse = (app: App, name: string) =>
  Effect.gen(function* () {
    const universe = yield* Universes.use((u) => u.get(name)).pipe(Effect.provide(readStorageLayer(app)))
    if (universe === undefined) return yield* missing(name)
    return universe
  })

/** The universe CSV of `members` at `target`, written beside it and renamed over it: the old file or the new, never half. */
const writeUniverseCsv = (target: string, members: ReadonlyArray<SymbolMeta>) => {
  const temp = tempPathFor(target)
  return Effect.try({
    try: () => {
      writeFileSync(temp, universeToCsv(members))
      renameSync(temp, target)
    },
    catch: (e) => {
      rmSync(temp, { force: true })
      return new UsageError({ field: "OUT", reason: `cannot write ${target}: ${(e as Error).message}` })
    }
  })
}

const exported = (name: string, target: string, members: number) =>
  `universe ${name}: ${members} symbols written to ${target}`

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
    const universe = yield* savedUniverse(app, flags.name)
    const target = resolve(environment.cwd, flags.out)
    yield* writeUniverseCsv(target, universe.memberList)
    const out = makeOutput({ json: flags.json, tty: false })
    out.result(
      flags.json
        ? JSON.stringify({ name: flags.name, file: target, members: universe.memberList.length })
        : exported(flags.name, target, universe.memberList.length)
    )
  })

const cell = (v: string | number | undefined) => (v === undefined ? "" : v)

export const universeShowMain = (
  flags: CommonFlags & { readonly name: string; readonly csv: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const universe = yield* savedUniverse(yield* loadApp(flags, environment), flags.name)
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

/**
 * `universe build --filters F --name N [--provider P…] [--as-of D] [--export OUT]`: the filters over what was known on
 * the date; with `--provider`, a snapshot of that provider as of the date is taken first (so a past date works before
 * any snapshot history exists).
 */
export const universeBuildMain = (
  flags: CommonFlags &
    ReferenceFlags & {
      readonly filters: string
      readonly name: string
      readonly export: Option.Option<string>
    },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const name = yield* checkName(flags.name, "--name")
    const filters = yield* loadFilters(resolve(environment.cwd, flags.filters))
    const options = yield* referenceOptions(flags)
    const asOf = options.asOf
    const app = yield* loadApp(flags, environment)
    const storage = storageLayer(app)
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.provider.length > 0) {
      yield* storeSnapshots(app, yield* providerSnapshots(app, flags.provider, options), out, flags.json)
    }
    const known = yield* SymbolSnapshots.use((s) => s.newestUpTo(asOf)).pipe(Effect.provide(storage))
    if (known.length === 0) {
      return yield* new UsageError({
        field: "--as-of",
        reason: `no symbol metadata is known as of ${asOf}: take a snapshot first (\`marketpipe universe refresh --provider NAME\`), or build with --provider`
      })
    }
    const members = selectSymbols(filters, metadataAsOf(known, asOf))
    const saved = yield* Universes.use((u) =>
      u.save({ name, source: `filters ${resolve(environment.cwd, flags.filters)}`, filters, asOf, members })
    ).pipe(Effect.provide(storage))
    if (Option.isSome(flags.export)) {
      const target = resolve(environment.cwd, flags.export.value)
      yield* writeUniverseCsv(target, members)
      out.result(exported(name, target, members.length))
    }
    out.result(flags.json ? JSON.stringify(saved) : `universe ${name}: ${saved.members} symbols as of ${asOf}`)
  })

/** `universe snapshots`: the metadata snapshots kept, newest first: which sources were read as of which days. */
export const universeSnapshotsMain = (flags: CommonFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const all = yield* SymbolSnapshots.use((s) => s.list()).pipe(Effect.provide(readStorageLayer(app)))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify(all))
    if (all.length === 0) {
      return out.result("no snapshots yet; `marketpipe universe refresh --provider NAME` takes one")
    }
    out.result(
      table(
        ["source", "as of", "symbols"],
        all.map((s) => [s.source, s.asOf, s.symbols])
      )
    )
  })

/** A saved universe with what the snapshots said as of its date, for `diff` to say why (none: imported ones). */
const withKnown = (app: App, universe: Side & { readonly asOf?: string | undefined }) =>
  Effect.gen(function* () {
    const asOf = universe.asOf
    if (asOf === undefined) return universe
    const rows = yield* SymbolSnapshots.use((s) => s.newestUpTo(asOf)).pipe(Effect.provide(readStorageLayer(app)))
    if (rows.length === 0) return universe
    return { ...universe, known: new Map(mergedAsOf(rows, asOf).map((m) => [m.symbol as string, m])) }
  })

/** `universe diff A B`: what B adds to A and what it drops, each with the filters that say why where there are some. */
export const universeDiffMain = (
  flags: CommonFlags & { readonly a: string; readonly b: string },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const a = yield* savedUniverse(app, flags.a)
    const b = yield* savedUniverse(app, flags.b)
    const diff = universeDiff(yield* withKnown(app, a), yield* withKnown(app, b))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify(diff))
    const line = (sign: string) => (e: DiffEntry) => `${sign} ${e.symbol}${e.why === "" ? "" : `  (${e.why})`}`
    out.result(
      [
        `${flags.a} → ${flags.b}: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.kept} in both`,
        ...diff.added.map(line("+")),
        ...diff.removed.map(line("-"))
      ].join("\n")
    )
  })
