/**
 * The sample schedules checked in under `scripts/systemd/` and `scripts/cron/`, as the `schedule generate` flags that
 * make them (fixed paths, so they read the same on every machine). `bun scripts/systemd/samples.ts` writes them
 * again; `test/integration/schedule.test.ts` fails when a checked-in sample is not what the generator writes.
 */
import { resolve } from "node:path"
import { Effect, Option } from "effect"
import { type ScheduleGenerateFlags, scheduleGenerateMain } from "../../src/cli/commands/schedule.ts"

export interface Sample {
  /** The folder under `scripts/` it lives in. */
  readonly dir: "systemd" | "cron"
  /** The files it consists of. */
  readonly files: ReadonlyArray<string>
  readonly flags: ScheduleGenerateFlags
}

const fixed = {
  config: Option.some("/etc/marketpipe/marketpipe.yaml"),
  dataDir: Option.some("/var/lib/marketpipe/data"),
  binary: Option.some("/usr/local/bin/marketpipe"),
  user: Option.some("marketpipe"),
  json: false,
  envFile: Option.none(),
  randomizedDelay: Option.none(),
  workingDir: Option.none(),
  log: Option.none(),
  out: Option.none()
}

const backfill = {
  ...fixed,
  name: "marketpipe-backfill",
  command: "ohlcv backfill --universe core --lookback 5d",
  onCalendar: Option.some("Mon..Fri 18:30 America/New_York")
}

export const samples: ReadonlyArray<Sample> = [
  {
    dir: "systemd",
    files: ["marketpipe-backfill.service", "marketpipe-backfill.timer"],
    flags: { ...backfill, kind: "systemd" }
  },
  {
    dir: "systemd",
    files: ["marketpipe-metrics.service"],
    flags: {
      ...fixed,
      kind: "systemd",
      name: "marketpipe-metrics",
      command: "metrics serve",
      onCalendar: Option.none()
    }
  },
  {
    dir: "cron",
    files: ["marketpipe-backfill.cron"],
    flags: { ...backfill, kind: "cron", user: Option.none(), envFile: Option.some("/etc/marketpipe/marketpipe.env") }
  }
]

/** Every sample written into `<root>/<its dir>`. */
export const writeSamples = (root: string) =>
  Effect.forEach(samples, (sample) =>
    scheduleGenerateMain({ ...sample.flags, out: Option.some(resolve(root, sample.dir)) }, { env: {}, cwd: root })
  )

if (import.meta.main) await Effect.runPromise(writeSamples(resolve(import.meta.dirname, "..")))
