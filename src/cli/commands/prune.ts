/**
 * `marketpipe prune parquet|db` and `prune` alone: what is past its retention goes — by `--older-than`, or by the
 * config's `retention` (per frame, and `db`). `--dry-run` reports exactly what the real run would remove.
 */
import { Clock, Effect, Option } from "effect"
import type { RetentionConfig } from "../../config/schema-v2.ts"
import { AGE_FORM, type Age, ageCutoff, parseAge } from "../../domain/age.ts"
import { UsageError } from "../../domain/errors.ts"
import { tradingDayOf } from "../../domain/partition.ts"
import { type Timeframe, timeframes } from "../../domain/timeframe.ts"
import type { PruneTarget } from "../../lake/prune.ts"
import { storageLayer } from "../../pipeline/context.ts"
import { type FramePruned, pruneHistory, pruneLake } from "../../pipeline/prune.ts"
import { pruneVersions, type VersionsPruned } from "../../pipeline/prune-versions.ts"
import type { HistoryCounts } from "../../repository/history-retention.ts"
import { type App, type CommonFlags, checkInput, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { parseSymbols } from "../inputs.ts"
import { makeOutput, table } from "../output.ts"

const ageOf = (field: string, text: string): Age => {
  const age = parseAge(text)
  if (age === undefined) throw new UsageError({ field, reason: `${JSON.stringify(text)} is not ${AGE_FORM}` })
  return age
}

const today = Effect.map(Clock.currentTimeMillis, tradingDayOf)

const noRetention = (what: string) =>
  new UsageError({
    field: "--older-than",
    reason: `give --older-than (30d, 18m, 2y) or set retention${what} in the config (config_version ${what === ".versions" ? 4 : 2})`
  })

/** The frames to prune and from which day on their bars are kept. */
const lakeTargets = (
  app: App,
  flags: {
    readonly olderThan: Option.Option<string>
    readonly frame: Option.Option<string>
    readonly symbols: Option.Option<string>
  },
  day: string
) =>
  checkInput((): Array<PruneTarget> => {
    const frame = Option.getOrUndefined(flags.frame)
    if (frame !== undefined && !(timeframes as ReadonlyArray<string>).includes(frame)) {
      throw new UsageError({
        field: "--frame",
        reason: `${JSON.stringify(frame)} is not a frame; use ${timeframes.join(", ")}`
      })
    }
    const symbols = Option.match(flags.symbols, {
      onNone: () => undefined,
      onSome: (s) => new Set<string>(parseSymbols("--symbols", s))
    })
    const given = Option.getOrUndefined(flags.olderThan)
    const retention: RetentionConfig = app.loaded.config.retention ?? {}
    const frames = frame !== undefined ? [frame as Timeframe] : [...timeframes]
    const targets = frames.flatMap((f): Array<PruneTarget> => {
      const age =
        given !== undefined
          ? ageOf("--older-than", given)
          : retention[f] === undefined
            ? undefined
            : ageOf(`config retention.${f}`, retention[f])
      const cutoff = age === undefined ? undefined : ageCutoff(age, day)
      return cutoff === undefined ? [] : [{ frame: f, cutoff, symbols }]
    })
    if (given === undefined && targets.length === 0 && frames.every((f) => retention[f] === undefined)) {
      throw noRetention(frame === undefined ? " for a frame (retention: { 1m: 2y })" : `.${frame}`)
    }
    return targets
  })

/** The day before which `retention.<key>` (or `--older-than`) says history goes; `undefined` for never. */
const retentionCutoff = (app: App, key: "db" | "versions", olderThan: Option.Option<string>, day: string) =>
  checkInput(() => {
    const given = Option.getOrUndefined(olderThan)
    const text = given ?? app.loaded.config.retention?.[key]
    if (text === undefined) throw noRetention(`.${key}`)
    return ageCutoff(ageOf(given !== undefined ? "--older-than" : `config retention.${key}`, text), day)
  })

const historyCutoff = (app: App, olderThan: Option.Option<string>, day: string) =>
  retentionCutoff(app, "db", olderThan, day)

const versionsLine = (v: VersionsPruned) =>
  `superseded file versions replaced before ${v.cutoff.slice(0, 10)}: ${v.files} file(s), ${v.bytes} bytes (${human(v.bytes)})`

const human = (bytes: number) =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${bytes} B`

const lakeTable = (rows: ReadonlyArray<FramePruned>) =>
  table(
    ["frame", "before", "files removed", "files rewritten", "bars", "bytes"],
    rows.map((r) => [r.frame, r.cutoff, r.filesRemoved, r.filesRewritten, r.bars, `${r.bytes} (${human(r.bytes)})`])
  )

const historyLine = (cutoff: string, c: HistoryCounts) =>
  `repository history before ${cutoff}: ${c.jobs} jobs, ${c.partitions} partitions, ${c.validationRuns} validation runs, ${c.workUnits} work units, ${c.metricSamples} metric samples`

const said = (dryRun: boolean) => (dryRun ? "would remove (dry run: nothing removed)" : "removed")

export const pruneParquetMain = (
  flags: CommonFlags & {
    readonly olderThan: Option.Option<string>
    readonly frame: Option.Option<string>
    readonly symbols: Option.Option<string>
    readonly dryRun: boolean
  },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const targets = yield* lakeTargets(app, flags, yield* today)
    const lake = yield* pruneLake(app.loaded.dataDir, targets, flags.dryRun).pipe(Effect.provide(storageLayer(app)))
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json) return out.result(JSON.stringify({ dryRun: flags.dryRun, lake }))
    out.result(`${said(flags.dryRun)}:\n${lakeTable(lake)}`)
  })

export const pruneDbMain = (
  flags: CommonFlags & { readonly olderThan: Option.Option<string>; readonly dryRun: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const cutoff = yield* historyCutoff(app, flags.olderThan, yield* today)
    const out = makeOutput({ json: flags.json, tty: false })
    if (cutoff === undefined) {
      return out.result(
        flags.json
          ? JSON.stringify({ dryRun: flags.dryRun, cutoff: null, history: null })
          : "retention.db is never: nothing to remove"
      )
    }
    const history = yield* pruneHistory(cutoff, flags.dryRun).pipe(Effect.provide(storageLayer(app)))
    if (flags.json) return out.result(JSON.stringify({ dryRun: flags.dryRun, cutoff, history }))
    out.result(`${said(flags.dryRun)}: ${historyLine(cutoff, history)}`)
  })

export const pruneVersionsMain = (
  flags: CommonFlags & { readonly olderThan: Option.Option<string>; readonly dryRun: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const cutoff = yield* retentionCutoff(app, "versions", flags.olderThan, yield* today)
    const out = makeOutput({ json: flags.json, tty: false })
    if (cutoff === undefined) {
      return out.result(
        flags.json
          ? JSON.stringify({ dryRun: flags.dryRun, versions: null })
          : "retention.versions is never: nothing to remove"
      )
    }
    const versions = yield* pruneVersions(app.loaded.dataDir, `${cutoff}T00:00:00.000Z`, flags.dryRun).pipe(
      Effect.provide(storageLayer(app))
    )
    if (flags.json) return out.result(JSON.stringify({ dryRun: flags.dryRun, versions }))
    out.result(`${said(flags.dryRun)}: ${versionsLine(versions)}`)
  })

/** `prune` alone: the config's retention, lake and repository. */
export const pruneConfiguredMain = (
  flags: CommonFlags & { readonly dryRun: boolean },
  environment: Environment = currentEnvironment()
) =>
  Effect.gen(function* () {
    const app = yield* loadApp(flags, environment)
    const day = yield* today
    const none = Option.none<string>()
    const retention = app.loaded.config.retention ?? {}
    if (Object.keys(retention).length === 0) {
      return yield* new UsageError({
        field: "config retention",
        reason:
          "no retention is set: add `retention: { 1m: 2y, db: 90d }` (config_version 2), or use prune parquet|db --older-than"
      })
    }
    const targets = yield* lakeTargets(app, { olderThan: none, frame: none, symbols: none }, day).pipe(
      Effect.catchTag("UsageError", () => Effect.succeed([]))
    )
    const cutoff = retention.db === undefined ? undefined : yield* historyCutoff(app, none, day)
    const versionsCutoff =
      retention.versions === undefined ? undefined : yield* retentionCutoff(app, "versions", none, day)
    const storage = storageLayer(app)
    const lake = yield* pruneLake(app.loaded.dataDir, targets, flags.dryRun).pipe(Effect.provide(storage))
    const history =
      cutoff === undefined ? undefined : yield* pruneHistory(cutoff, flags.dryRun).pipe(Effect.provide(storage))
    const versions =
      versionsCutoff === undefined
        ? undefined
        : yield* pruneVersions(app.loaded.dataDir, `${versionsCutoff}T00:00:00.000Z`, flags.dryRun).pipe(
            Effect.provide(storage)
          )
    const out = makeOutput({ json: flags.json, tty: false })
    if (flags.json)
      return out.result(
        JSON.stringify({
          dryRun: flags.dryRun,
          lake,
          cutoff: cutoff ?? null,
          history: history ?? null,
          versions: versions ?? null
        })
      )
    out.result(
      [
        `${said(flags.dryRun)}:`,
        ...(lake.length > 0 ? [lakeTable(lake)] : ["lake: no frame has a retention"]),
        cutoff === undefined || history === undefined
          ? "repository history: no retention.db"
          : historyLine(cutoff, history),
        versions === undefined ? "superseded file versions: no retention.versions" : versionsLine(versions)
      ].join("\n")
    )
  })
