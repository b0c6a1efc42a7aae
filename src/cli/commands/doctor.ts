/**
 * `marketpipe doctor`: checks the setup a run depends on — config, repository, data dir, disk, providers and their
 * credentials, DuckDB, the trading calendar, the clock, the metrics port — and prints one pass/warn/fail line each
 * (`--json`: `{ checks, ok }`). Exit 1 when a check fails; warnings alone exit 0. It creates no file and migrates
 * nothing (see docs/doctor.md).
 */
import { Effect, Option } from "effect"
import { DoctorFailed } from "../../doctor/check.ts"
import { doctorJson, formatReport } from "../../doctor/format.ts"
import { runDoctor } from "../../doctor/run.ts"
import { doctorTarget } from "../../doctor/target.ts"
import { type CommonFlags, currentEnvironment, type Environment, loadApp } from "../app.ts"
import { makeOutput } from "../output.ts"

export const doctorMain = (flags: CommonFlags, environment: Environment = currentEnvironment()) =>
  Effect.gen(function* () {
    const app = yield* Effect.result(loadApp(flags, environment))
    const target = doctorTarget(app, {
      dataDir: Option.getOrUndefined(flags.dataDir),
      env: environment.env,
      cwd: environment.cwd
    })
    const results = yield* runDoctor(target)
    const out = makeOutput({ json: flags.json, tty: false })
    out.result(flags.json ? JSON.stringify(doctorJson(results)) : formatReport(results))
    const failed = results.filter((r) => r.status === "fail").map((r) => r.name)
    if (failed.length > 0) return yield* new DoctorFailed({ checks: failed })
  })
