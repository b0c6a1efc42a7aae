/**
 * `marketpipe schedule generate`: a marketpipe command as systemd units or a crontab block (`src/schedule/`), printed
 * or written into `--out`. It touches no data: a schedule is text for the machine that runs it, so every path in it is
 * made absolute here, and every flag is checked before anything is written. With `--config` (when it exists here), its
 * `schedule` section (config_version 2) gives the defaults of `--on-calendar`, `--randomized-delay`, `--env-file`
 * and `--user`, and its data dir that of `--data-dir`; flags win.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { delimiter, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Option } from "effect"
import { loadConfig } from "../../config/load.ts"
import { shown, UsageError } from "../../domain/errors.ts"
import { tempPathFor } from "../../lake/atomic-file.ts"
import { marketpipeBinary } from "../../schedule/binary.ts"
import { crontab } from "../../schedule/crontab.ts"
import { type GeneratedFile, type ScheduleJob, scheduleJob } from "../../schedule/job.ts"
import { systemdUnits } from "../../schedule/systemd-units.ts"
import { type CommonFlags, checkInput, currentEnvironment, type Environment } from "../app.ts"
import { makeOutput } from "../output.ts"

export interface ScheduleGenerateFlags extends CommonFlags {
  readonly kind: string
  readonly name: string
  readonly command: string
  readonly onCalendar: Option.Option<string>
  readonly out: Option.Option<string>
  readonly envFile: Option.Option<string>
  readonly user: Option.Option<string>
  readonly binary: Option.Option<string>
  readonly randomizedDelay: Option.Option<string>
  readonly workingDir: Option.Option<string>
  readonly log: Option.Option<string>
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** `dist/marketpipe` of this checkout, for a run from source (`src/cli/commands/` is three levels down). */
const repoBinary = () => fileURLToPath(new URL("../../../dist/marketpipe", import.meta.url))

/**
 * systemd reads more calendars than `calendar.ts` and a few differently, so where `systemd-analyze` is on the PATH
 * it has the last word on `OnCalendar=`. A tool that cannot run at all says nothing either way.
 */
const checkWithSystemd = (onCalendar: string, environment: Environment) =>
  Effect.suspend(() => {
    const tool = (environment.env.PATH ?? "")
      .split(delimiter)
      .filter((dir) => dir !== "")
      .map((dir) => join(dir, "systemd-analyze"))
      .find(isFile)
    if (tool === undefined) return Effect.void
    const run = spawnSync(tool, ["calendar", onCalendar], { encoding: "utf8", timeout: 10_000 })
    if (run.status === null || run.status === 0) return Effect.void
    return Effect.fail(
      new UsageError({
        field: "--on-calendar",
        reason: `systemd-analyze calendar rejects ${shown(onCalendar)}: ${`${run.stderr}${run.stdout}`.trim()}`
      })
    )
  })

const filesOf = (job: ScheduleJob): ReadonlyArray<GeneratedFile> =>
  job.kind === "systemd" ? systemdUnits(job) : [{ name: `${job.name}.cron`, content: crontab(job) }]

/** Each file beside its target and renamed over it (`--out` made first): an old file or the new one, never half. */
const writeFiles = (dir: string, files: ReadonlyArray<GeneratedFile>) =>
  Effect.try({
    try: () => {
      mkdirSync(dir, { recursive: true })
      return files.map((file) => {
        const path = join(dir, file.name)
        const temp = tempPathFor(path)
        try {
          writeFileSync(temp, file.content, { mode: 0o644 })
          renameSync(temp, path)
        } finally {
          rmSync(temp, { force: true })
        }
        return { path, content: file.content }
      })
    },
    catch: (e) => new UsageError({ field: "--out", reason: `cannot write into ${dir}: ${(e as Error).message}` })
  })

/** What to run next with the files written, on stderr. */
function installHint(job: ScheduleJob, paths: ReadonlyArray<string>): string {
  if (job.kind === "systemd") {
    const start = job.calendar === undefined ? `${job.name}.service` : `${job.name}.timer`
    return `next: sudo install -m 644 ${paths.join(" ")} /etc/systemd/system/ && sudo systemctl daemon-reload && sudo systemctl enable --now ${start} (docs/scheduling.md)`
  }
  return job.user === undefined
    ? `next: add ${paths.join(" ")} to the crontab of the user it runs as (crontab -e) (docs/scheduling.md)`
    : `next: sudo install -m 644 ${paths.join(" ")} /etc/cron.d/${job.name} (docs/scheduling.md)`
}

/** `schedule generate --kind systemd|cron --name NAME --command "…" --on-calendar "…" [--out DIR] …`. */
export const scheduleGenerateMain = (flags: ScheduleGenerateFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const absolute = (path: Option.Option<string>) =>
      Option.getOrUndefined(Option.map(path, (p) => resolve(environment.cwd, p)))
    // The config may be a path on the machine the schedule is for: read for defaults only when it is here.
    const loaded =
      Option.isSome(flags.config) && existsSync(resolve(environment.cwd, flags.config.value))
        ? yield* loadConfig({
            path: flags.config.value,
            dataDir: Option.getOrUndefined(flags.dataDir),
            env: environment.env,
            cwd: environment.cwd
          })
        : undefined
    const defaults = loaded?.config.schedule ?? {}
    const or = (flag: Option.Option<string>, fallback: string | undefined) =>
      Option.isSome(flag) ? flag : Option.fromUndefinedOr(fallback)
    const job = yield* checkInput(() =>
      scheduleJob({
        kind: flags.kind,
        name: flags.name,
        command: flags.command,
        onCalendar: Option.getOrUndefined(or(flags.onCalendar, defaults.on_calendar)),
        binary: marketpipeBinary({
          explicit: Option.getOrUndefined(flags.binary),
          execPath: process.execPath,
          repoBinary: repoBinary(),
          isFile
        }),
        config: absolute(flags.config),
        dataDir:
          loaded?.dataDir ??
          resolve(
            environment.cwd,
            Option.getOrElse(flags.dataDir, () => environment.env.MARKETPIPE_DATA_DIR ?? "data")
          ),
        envFile: absolute(or(flags.envFile, defaults.env_file)),
        user: Option.getOrUndefined(or(flags.user, defaults.user)),
        workingDirectory: absolute(flags.workingDir),
        randomizedDelay: Option.getOrUndefined(or(flags.randomizedDelay, defaults.randomized_delay)),
        log: absolute(flags.log)
      })
    )
    if (job.kind === "systemd" && job.calendar !== undefined) {
      yield* checkWithSystemd(job.calendar.onCalendar, environment)
    }
    const files = filesOf(job)
    const out = makeOutput({ json: flags.json, tty: false })
    for (const notice of job.notices) out.notice(notice)
    if (Option.isNone(flags.out)) {
      if (job.kind === "cron")
        return out.result(flags.json ? JSON.stringify({ crontab: files[0]!.content }) : files[0]!.content)
      if (flags.json)
        return out.result(JSON.stringify({ files: files.map((f) => ({ path: f.name, content: f.content })) }))
      return out.result(files.map((f) => `# ---------- ${f.name} ----------\n${f.content}`).join("\n"))
    }
    const written = yield* writeFiles(resolve(environment.cwd, flags.out.value), files)
    if (flags.json) {
      return out.result(
        JSON.stringify(
          job.kind === "cron" ? { crontab: written[0]!.content, path: written[0]!.path } : { files: written }
        )
      )
    }
    for (const file of written) out.result(`wrote ${file.path}`)
    out.notice(
      installHint(
        job,
        written.map((f) => f.path)
      )
    )
  })
