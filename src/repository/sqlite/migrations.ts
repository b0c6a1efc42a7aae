/** SQLite migrations. Postgres gets its own set with native types; table and column names stay the same. */
import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"

const run = (statements: ReadonlyArray<string>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(statements, (s) => sql.unsafe(s), { discard: true }))

export const sqliteMigrations = Migrator.fromRecord({
  "1_jobs_partitions_coverage": run([
    `CREATE TABLE jobs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      kind TEXT NOT NULL,
      provider TEXT NOT NULL,
      feed TEXT NOT NULL,
      frame TEXT NOT NULL,
      session TEXT NOT NULL,
      symbols TEXT NOT NULL,
      start_day TEXT NOT NULL,
      end_day TEXT NOT NULL,
      state TEXT NOT NULL,
      created_at TEXT NOT NULL,
      finished_at TEXT,
      partitions_total INTEGER NOT NULL DEFAULT 0,
      partitions_done INTEGER NOT NULL DEFAULT 0,
      partitions_failed INTEGER NOT NULL DEFAULT 0,
      bars_written INTEGER NOT NULL DEFAULT 0,
      bars_rejected INTEGER NOT NULL DEFAULT 0,
      error TEXT
    )`,
    `CREATE TABLE partitions (
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      frame TEXT NOT NULL,
      symbol TEXT NOT NULL,
      day TEXT NOT NULL,
      state TEXT NOT NULL,
      rows INTEGER,
      rejected INTEGER,
      hash TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      lease_holder TEXT,
      heartbeat_at TEXT,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (job_id, frame, symbol, day)
    )`,
    "CREATE INDEX partitions_state ON partitions (state)",
    `CREATE TABLE coverage (
      frame TEXT NOT NULL,
      symbol TEXT NOT NULL,
      day TEXT NOT NULL,
      session TEXT NOT NULL,
      expected INTEGER NOT NULL,
      observed INTEGER NOT NULL,
      status TEXT NOT NULL,
      provider TEXT NOT NULL,
      feed TEXT NOT NULL,
      file TEXT,
      hash TEXT,
      job_id INTEGER NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (frame, symbol, day)
    )`,
    "CREATE INDEX coverage_status ON coverage (status, frame)"
  ]),
  "2_owner_and_failure_reason": run([
    "ALTER TABLE jobs ADD COLUMN owner TEXT",
    "ALTER TABLE coverage ADD COLUMN error TEXT",
    "CREATE INDEX jobs_state ON jobs (state)"
  ]),
  "3_validation_reports": run([
    `CREATE TABLE validation_runs (
      job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      created_at TEXT NOT NULL,
      report_csv TEXT NOT NULL,
      report_json TEXT NOT NULL,
      findings INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      warnings INTEGER NOT NULL
    )`,
    `CREATE TABLE validation_results (
      job_id INTEGER NOT NULL REFERENCES validation_runs(job_id) ON DELETE CASCADE,
      rule TEXT NOT NULL,
      severity TEXT NOT NULL,
      count INTEGER NOT NULL,
      PRIMARY KEY (job_id, rule, severity)
    )`
  ]),
  "4_work_queue": run([
    `CREATE TABLE work_units (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      symbols TEXT NOT NULL,
      frame TEXT NOT NULL,
      period TEXT NOT NULL,
      days TEXT NOT NULL,
      start_ms INTEGER NOT NULL,
      end_ms INTEGER NOT NULL,
      expected_bars INTEGER NOT NULL,
      state TEXT NOT NULL,
      lease_holder TEXT,
      lease_expires_ms INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      updated_at TEXT NOT NULL
    )`,
    "CREATE INDEX work_units_claim ON work_units (state, lease_expires_ms)",
    "CREATE INDEX work_units_job ON work_units (job_id, state)"
  ]),
  "5_metrics_history": run([
    `CREATE TABLE metrics_samples (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      name TEXT NOT NULL,
      labels TEXT NOT NULL,
      provider TEXT,
      feed TEXT,
      value REAL NOT NULL
    )`,
    "CREATE INDEX metrics_samples_name ON metrics_samples (name, recorded_at)"
  ]),
  // The hash of the rows the file holds for a day. For 1m it equals `hash`; a derived frame's `hash` is the 1m
  // hash it was built from (what aggregation compares), so `ledger verify` needs the day's own.
  "6_ledger_content_hash": run(["ALTER TABLE coverage ADD COLUMN content_hash TEXT"]),
  // Named universes with what made them (an import, a filter as of a date) and their members' metadata.
  "7_universes": run([
    `CREATE TABLE universes (
      name TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      filters TEXT,
      as_of TEXT,
      created_at TEXT NOT NULL,
      members INTEGER NOT NULL
    )`,
    `CREATE TABLE universe_members (
      name TEXT NOT NULL REFERENCES universes(name) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      symbol TEXT NOT NULL,
      meta TEXT NOT NULL,
      PRIMARY KEY (name, symbol)
    )`
  ]),
  // What each source said about each symbol on a date: universes are rebuilt as of a past date from these.
  "8_symbol_snapshots": run([
    `CREATE TABLE symbol_snapshots (
      source TEXT NOT NULL,
      as_of TEXT NOT NULL,
      symbol TEXT NOT NULL,
      meta TEXT NOT NULL,
      taken_at TEXT NOT NULL,
      PRIMARY KEY (source, as_of, symbol)
    )`,
    "CREATE INDEX symbol_snapshots_symbol ON symbol_snapshots (symbol, as_of)"
  ]),
  // `jobs cancel`: a running job asked to stop. Its local run or its workers stop at the next unit boundary, its
  // queued units are no longer claimed, and it ends `cancelled`.
  "9_job_cancel": run(["ALTER TABLE jobs ADD COLUMN cancel_requested_at TEXT"]),
  // Why a day came from a provider further down `providers_chain` than the first (what the one before did).
  "10_ledger_filled_for": run(["ALTER TABLE coverage ADD COLUMN filled_for TEXT"]),
  // Every version of every lake file: the job that wrote it, when, the days it held, and where a superseded one is
  // kept (outside the current glob), so the lake can be read as it was at any time. And each day a re-fetch found
  // changed by its provider, with what changed.
  "11_file_versions_revisions": run([
    `CREATE TABLE file_versions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      file TEXT NOT NULL,
      job_id BIGINT NOT NULL,
      written_at TEXT NOT NULL,
      superseded_at TEXT,
      stored TEXT,
      days TEXT NOT NULL,
      rows BIGINT NOT NULL
    )`,
    "CREATE INDEX file_versions_file ON file_versions (file, written_at)",
    "CREATE INDEX file_versions_superseded ON file_versions (superseded_at)",
    `CREATE TABLE revisions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id BIGINT NOT NULL,
      detected_at TEXT NOT NULL,
      frame TEXT NOT NULL,
      symbol TEXT NOT NULL,
      day TEXT NOT NULL,
      provider TEXT NOT NULL,
      feed TEXT NOT NULL,
      old_hash TEXT,
      new_hash TEXT NOT NULL,
      bars_added BIGINT NOT NULL,
      bars_removed BIGINT NOT NULL,
      bars_changed BIGINT NOT NULL,
      sample TEXT NOT NULL
    )`,
    "CREATE INDEX revisions_symbol ON revisions (symbol, day)",
    "CREATE INDEX revisions_detected ON revisions (detected_at)"
  ]),
  // Splits and cash dividends as each source reported them, with when MarketPipe first saw each: adjusted reads as
  // of a time use only the actions known then.
  "12_corporate_actions": run([
    `CREATE TABLE corporate_actions (
      source TEXT NOT NULL,
      symbol TEXT NOT NULL,
      kind TEXT NOT NULL,
      ex_date TEXT NOT NULL,
      split_from REAL,
      split_to REAL,
      amount REAL,
      currency TEXT,
      record_date TEXT,
      pay_date TEXT,
      special INTEGER,
      first_seen_at TEXT NOT NULL,
      last_seen_at TEXT NOT NULL,
      PRIMARY KEY (source, symbol, kind, ex_date)
    )`,
    "CREATE INDEX corporate_actions_symbol ON corporate_actions (symbol, ex_date)"
  ])
})

export const migrateSqlite = Migrator.make({})({ loader: sqliteMigrations, table: "schema_migrations" })
