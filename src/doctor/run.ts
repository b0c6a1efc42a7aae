/**
 * `marketpipe doctor`: every check of this folder over one target (the config as a run would load it), each on its
 * own, in the order they print. One failing never stops the others.
 */
import { Effect } from "effect"
import { type CheckResult, runChecks } from "./check.ts"
import { dataDirCheck } from "./data-dir.ts"
import { diskCheck } from "./disk.ts"
import { duckdbCheck } from "./duckdb.ts"
import { metricsPortCheck } from "./metrics-port.ts"
import { providersCheck } from "./providers.ts"
import { repositoryCheck } from "./repository.ts"
import { configCheck, type DoctorTarget } from "./target.ts"
import { calendarCheck, clockCheck } from "./time.ts"

export const runDoctor = (target: DoctorTarget): Effect.Effect<ReadonlyArray<CheckResult>> =>
  runChecks([
    { name: "config", run: configCheck(target) },
    { name: "repository", run: Effect.flatMap(target.databaseUrl, repositoryCheck) },
    { name: "data dir", run: dataDirCheck(target.dataDir) },
    { name: "disk", run: diskCheck(target.dataDir) },
    { name: "providers", run: providersCheck(target) },
    { name: "duckdb", run: duckdbCheck(target.env) },
    { name: "calendar", run: calendarCheck(target.calendar, target.config) },
    { name: "clock", run: clockCheck },
    { name: "metrics port", run: metricsPortCheck(target.config, target.env) }
  ])
