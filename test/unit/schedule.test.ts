/**
 * The schedule generators without I/O: `--command` splitting and quoting, the `--on-calendar` subset and its cron
 * fields (parsed back with effect's `Cron`, next runs from fixed instants), the binary choice, the flag checks, and
 * the unit files and crontab block they make.
 */
import { describe, expect, test } from "bun:test"
import { Cron, Result } from "effect"
import { UsageError } from "../../src/domain/errors.ts"
import { marketpipeBinary } from "../../src/schedule/binary.ts"
import { parseCalendar } from "../../src/schedule/calendar.ts"
import { shellLine, shellQuote, splitCommand, systemdLine, systemdQuote } from "../../src/schedule/command-line.ts"
import { crontab } from "../../src/schedule/crontab.ts"
import { DEFAULT_ENV_FILE, isLongRunning, type ScheduleRequest, scheduleJob } from "../../src/schedule/job.ts"
import { systemdUnits } from "../../src/schedule/systemd-units.ts"

/** The `UsageError` `f` throws (fails the test if it throws nothing or something else). */
const usageErrorOf = (f: () => unknown): UsageError => {
  try {
    f()
  } catch (e) {
    if (e instanceof UsageError) return e
    throw e
  }
  throw new Error("expected a UsageError, got none")
}

const backfill: ScheduleRequest = {
  kind: "systemd",
  name: "marketpipe-backfill",
  command: "ohlcv backfill --universe core --lookback 5d",
  onCalendar: "Mon..Fri 18:30 America/New_York",
  binary: "/usr/local/bin/marketpipe",
  config: "/etc/marketpipe/marketpipe.yaml",
  dataDir: "/var/lib/marketpipe/data"
}

/** The five time fields and the zone of a crontab block's job line, as effect's `Cron` reads them. */
const cronOf = (block: string) => {
  const lines = block.split("\n")
  const zone = lines.find((l) => l.startsWith("CRON_TZ="))?.slice("CRON_TZ=".length)
  const job = lines.find((l) => l !== "" && !l.startsWith("#") && !l.startsWith("CRON_TZ=")) ?? ""
  const fields = job.split(" ").slice(0, 5).join(" ")
  return { fields, zone, cron: Result.getOrThrow(Cron.parse(fields, zone)), rest: job.split(" ").slice(5).join(" ") }
}

describe("--command: split like a shell, written back for systemd and sh", () => {
  test("whitespace separates; quotes and backslashes keep what they hold", () => {
    expect(splitCommand("ohlcv  backfill\t--universe core")).toEqual(["ohlcv", "backfill", "--universe", "core"])
    expect(splitCommand(`query 'SELECT * FROM "bars_1d"' --csv`)).toEqual(["query", 'SELECT * FROM "bars_1d"', "--csv"])
    expect(splitCommand(`a "b \\"c\\" \\\\ \\d" e\\ f ''`)).toEqual(["a", 'b "c" \\ \\d', "e f", ""])
    expect(splitCommand(`x'y'"z"`)).toEqual(["xyz"])
  })

  test.each([
    ["ohlcv backfill; rm -rf /", ";"],
    ["ohlcv backfill | tee x", "|"],
    ["ohlcv backfill & sleep 1", "&"],
    ["ohlcv backfill --symbols $HOME", "$"],
    ["ohlcv backfill `id`", "`"],
    ["ohlcv backfill 'a;b'", ";"]
  ])("%p is refused for its %p, quoted or not", (text, char) => {
    const error = usageErrorOf(() => splitCommand(text))
    expect(error.field).toBe("--command")
    expect(error.reason).toContain(`holds ${char}`)
  })

  test("line breaks, open quotes, a trailing backslash and nothing at all are refused", () => {
    expect(usageErrorOf(() => splitCommand("ohlcv backfill\nrm x")).reason).toContain("line break")
    expect(usageErrorOf(() => splitCommand("ohlcv backfill\r")).reason).toContain("line break")
    expect(usageErrorOf(() => splitCommand("query 'SELECT 1")).reason).toContain("' that is never closed")
    expect(usageErrorOf(() => splitCommand('query "SELECT 1')).reason).toContain('" that is never closed')
    expect(usageErrorOf(() => splitCommand("query x\\")).reason).toContain("backslash")
    expect(usageErrorOf(() => splitCommand("  ")).reason).toContain("names no command")
    expect(usageErrorOf(() => splitCommand("x\u007f", "--other")).field).toBe("--other")
  })

  test("sh quoting: plain words as they are, the rest in single quotes; splitting it again gives the arguments", () => {
    const args = ["ohlcv", "--from=2024-01-02", "a b", "it's", "", "100%", "*", 'say "hi"', "x\\y", "~root", "#tag"]
    expect(shellQuote("--lookback")).toBe("--lookback")
    expect(shellQuote("a b")).toBe("'a b'")
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(shellQuote("")).toBe("''")
    expect(splitCommand(shellLine(args))).toEqual(args)
  })

  test('systemd quoting: % and $ doubled, double quotes with \\ and " escaped where a word is not plain', () => {
    expect(systemdQuote("--universe")).toBe("--universe")
    expect(systemdQuote("100%")).toBe("100%%")
    expect(systemdQuote("a b")).toBe('"a b"')
    expect(systemdQuote('say "hi" \\ 5%')).toBe('"say \\"hi\\" \\\\ 5%%"')
    expect(systemdQuote("$HOME")).toBe('"$$HOME"')
    expect(systemdQuote("")).toBe('""')
    expect(systemdLine(["/bin/mp", "query", "SELECT 1"])).toBe('/bin/mp query "SELECT 1"')
  })
})

describe("--on-calendar: systemd's words, cron's fields", () => {
  test.each([
    ["Mon..Fri 18:30 America/New_York", "Mon..Fri 18:30 America/New_York", "30 18 * * 1-5", "America/New_York"],
    ["Mon,Wed,Fri 06:05", "Mon,Wed,Fri 06:05", "5 6 * * 1,3,5", undefined],
    ["mon-wed,fri 9:00 UTC", "mon-wed,fri 9:00 UTC", "0 9 * * 1-3,5", "UTC"],
    ["Monday..Sunday 07:00", "Monday..Sunday 07:00", "0 7 * * *", undefined],
    ["Sat..Sun 10:15:00", "Sat..Sun 10:15:00", "15 10 * * 0,6", undefined],
    ["Sun 23:59", "Sun 23:59", "59 23 * * 0", undefined],
    ["* 18:30 Europe/Berlin", "18:30 Europe/Berlin", "30 18 * * *", "Europe/Berlin"],
    ["  18:30  ", "18:30", "30 18 * * *", undefined],
    ["*-*-* 04:00", "*-*-* 04:00", "0 4 * * *", undefined],
    ["daily", "daily", "0 0 * * *", undefined],
    ["Hourly Asia/Tokyo", "Hourly Asia/Tokyo", "0 * * * *", "Asia/Tokyo"],
    ["weekly", "weekly", "0 0 * * 1", undefined],
    ["minutely", "minutely", "* * * * *", undefined],
    ["monthly", "monthly", "0 0 1 * *", undefined],
    ["yearly UTC", "yearly UTC", "0 0 1 1 *", "UTC"]
  ])("%p", (value, onCalendar, cron, timeZone) => {
    expect(parseCalendar(value, "cron")).toEqual({ onCalendar, cron, timeZone })
    expect(parseCalendar(value, "systemd")).toEqual({ onCalendar, cron, timeZone })
  })

  test("dates and seconds are systemd's alone: cron cannot say them, and says what it takes", () => {
    for (const value of ["*-*-01 02:00 UTC", "Mon 2024-03-04 09:00", "18:30:15"]) {
      expect(parseCalendar(value, "systemd").cron).toBeUndefined()
      const error = usageErrorOf(() => parseCalendar(value, "cron"))
      expect(error.field).toBe("--on-calendar")
      expect(error.reason).toContain("cannot be said in cron's five fields")
      expect(error.reason).toContain("Mon..Fri")
      expect(error.reason).toContain("daily")
      expect(error.reason).toContain("needs --kind systemd")
    }
  })

  test.each([
    ["", "is empty"],
    ["   ", "is empty"],
    ["Blursday 18:30", "which is no day"],
    ["Fri..Mon 18:30", "which is no day"],
    ["Mon", "has no time of day"],
    ["Mon..Fri", "has no time of day"],
    ["Mon..Fri 6pm", "has no time of day"],
    ["25:00", "which is no time of day"],
    ["12:60", "which is no time of day"],
    ["12:00:61", "which is no time of day"],
    ["18:30 Nowhere/Land", "which is no time zone"],
    ["18:30 america/new_york", "which is written America/New_York"],
    ["Mon..Fri 18:30 America/New_York tomorrow", "'tomorrow' left over"],
    ["daily 18:30", "'18:30' is no time zone"]
  ])("%p is refused: %s", (value, why) => {
    for (const kind of ["systemd", "cron"] as const) {
      const error = usageErrorOf(() => parseCalendar(value, kind))
      expect(error.field).toBe("--on-calendar")
      expect(error.message).toContain(why.replace("'18:30' is no time zone", "'18:30', which is no time zone"))
      expect(error.reason).toContain(`--kind ${kind} takes`)
    }
  })

  test("cron's fields parse with effect's Cron and run when systemd would, in the named zone across DST", () => {
    const { cron } = cronOf(crontab(scheduleJob({ ...backfill, kind: "cron" })))
    // Friday 8 March 2024, 12:00 UTC: the run is that evening, 18:30 EST = 23:30 UTC.
    expect(Cron.next(cron, new Date("2024-03-08T12:00:00Z")).toISOString()).toBe("2024-03-08T23:30:00.000Z")
    // After it: the weekend is skipped, and Monday 11 March is on daylight time (18:30 EDT = 22:30 UTC).
    expect(Cron.next(cron, new Date("2024-03-08T23:31:00Z")).toISOString()).toBe("2024-03-11T22:30:00.000Z")
    const weekly = cronOf(crontab(scheduleJob({ ...backfill, kind: "cron", onCalendar: "Sat,Sun 07:05 UTC" })))
    expect(weekly.fields).toBe("5 7 * * 0,6")
    expect(Cron.next(weekly.cron, new Date("2024-03-04T00:00:00Z")).toISOString()).toBe("2024-03-09T07:05:00.000Z")
    expect(Cron.next(weekly.cron, new Date("2024-03-09T07:05:00Z")).toISOString()).toBe("2024-03-10T07:05:00.000Z")
  })
})

describe("the binary a schedule starts", () => {
  const sources = {
    explicit: undefined,
    execPath: "/opt/bun/bin/bun",
    repoBinary: "/src/marketpipe/dist/marketpipe",
    isFile: () => true
  }

  test("--binary when given, and it must be absolute", () => {
    expect(marketpipeBinary({ ...sources, explicit: "/opt/mp/marketpipe" })).toBe("/opt/mp/marketpipe")
    const error = usageErrorOf(() => marketpipeBinary({ ...sources, explicit: "dist/marketpipe" }))
    expect(error.field).toBe("--binary")
    expect(error.reason).toContain("not an absolute path")
  })

  test("the compiled binary that runs now; from source, the repository's build, else a usage error", () => {
    expect(marketpipeBinary({ ...sources, execPath: "/usr/local/bin/marketpipe" })).toBe("/usr/local/bin/marketpipe")
    expect(marketpipeBinary({ ...sources, execPath: "/usr/local/bin/mp" })).toBe("/usr/local/bin/mp")
    for (const runtime of ["/x/bun", "/x/node_modules/bun/bin/bun.exe", "/usr/bin/node", "/x/deno", "/x/bun-debug"]) {
      expect(marketpipeBinary({ ...sources, execPath: runtime })).toBe(sources.repoBinary)
      const error = usageErrorOf(() => marketpipeBinary({ ...sources, execPath: runtime, isFile: () => false }))
      expect(error.field).toBe("--binary")
      expect(error.reason).toContain("pass --binary PATH")
      expect(error.reason).toContain(sources.repoBinary)
    }
  })
})

describe("the flags, checked", () => {
  test("a job: the command, then --config and --data-dir absolute; defaults for the rest", () => {
    const job = scheduleJob(backfill)
    expect(job).toMatchObject({
      kind: "systemd",
      summary: "ohlcv backfill --universe core --lookback 5d",
      argv: [
        "/usr/local/bin/marketpipe",
        "ohlcv",
        "backfill",
        "--universe",
        "core",
        "--lookback",
        "5d",
        "--config",
        "/etc/marketpipe/marketpipe.yaml",
        "--data-dir",
        "/var/lib/marketpipe/data"
      ],
      longRunning: false,
      envFile: DEFAULT_ENV_FILE,
      workingDirectory: "/var/lib/marketpipe",
      randomizedDelay: "5min",
      log: "/var/lib/marketpipe/data/logs/marketpipe-backfill.log",
      notices: []
    })
    expect(scheduleJob({ ...backfill, config: undefined }).argv.slice(-3)).toEqual([
      "5d",
      "--data-dir",
      "/var/lib/marketpipe/data"
    ])
    expect(scheduleJob({ ...backfill, kind: "cron" }).envFile).toBeUndefined()
  })

  test("metrics serve and worker --follow run until stopped; a calendar or delay for them is ignored, said", () => {
    expect(isLongRunning(["metrics", "serve", "--port", "9470"])).toBe(true)
    expect(isLongRunning(["worker", "--follow"])).toBe(true)
    expect(isLongRunning(["worker"])).toBe(false)
    expect(isLongRunning(["metrics", "show"])).toBe(false)
    const job = scheduleJob({ ...backfill, command: "metrics serve", randomizedDelay: "1min" })
    expect(job.longRunning).toBe(true)
    expect(job.calendar).toBeUndefined()
    expect(job.notices).toEqual([
      "--on-calendar is ignored: metrics serve runs until stopped, so no timer",
      "--randomized-delay is ignored: metrics serve runs until stopped, so no timer"
    ])
    expect(scheduleJob({ ...backfill, command: "metrics serve", onCalendar: undefined }).notices).toEqual([])
  })

  test.each<[string, string, Partial<ScheduleRequest>]>([
    ["--kind", "systemd or cron", { kind: "launchd" }],
    ["--kind", "systemd or cron", { kind: "" }],
    ["--name", "a-z 0-9 _ -", { name: "Backfill" }],
    ["--name", "starting with a letter or digit", { name: "-x" }],
    ["--name", "a-z 0-9 _ -", { name: "a.b" }],
    ["--name", "1-64", { name: "x".repeat(65) }],
    ["--name", "not a schedule name", { name: "../etc/x" }],
    ["--command", "the arguments after marketpipe", { command: "marketpipe ohlcv backfill" }],
    ["--command", "the arguments after marketpipe", { command: "mp ohlcv backfill" }],
    ["--command", "the arguments after marketpipe", { command: "/usr/bin/marketpipe ohlcv" }],
    ["--command", "give --config and --data-dir to schedule generate", { command: "ohlcv backfill --config /x.yaml" }],
    ["--command", "give --config and --data-dir to schedule generate", { command: "ohlcv backfill --data-dir=/d" }],
    ["--command", "holds &", { command: "ohlcv backfill && reboot" }],
    ["--command", "names no command", { command: "" }],
    ["--command", "use --kind systemd", { kind: "cron", command: "metrics serve" }],
    ["--on-calendar", "a job needs to know when it runs", { onCalendar: undefined }],
    ["--on-calendar", "which is no day", { onCalendar: "sometime" }],
    ["--on-calendar", "cannot be said in cron's five fields", { kind: "cron", onCalendar: "*-*-01 00:00" }],
    ["--randomized-delay", "no systemd time span", { randomizedDelay: "soon" }],
    ["--randomized-delay", "no systemd time span", { randomizedDelay: "5 min;" }],
    ["--randomized-delay", "for --kind systemd only", { kind: "cron", randomizedDelay: "5min" }],
    ["--working-dir", "for --kind systemd only", { kind: "cron", workingDirectory: "/srv" }],
    ["--log", "for --kind cron only", { log: "/var/log/mp.log" }],
    ["--binary", "no spaces", { binary: "/opt/market pipe/marketpipe" }],
    ["--binary", "absolute path", { binary: "marketpipe" }],
    ["--config", "no spaces, quotes, % or $", { config: "/etc/mp/%h.yaml" }],
    ["--data-dir", "no spaces, quotes, % or $", { dataDir: "/srv/$data" }],
    ["--data-dir", "the whole file system writable", { dataDir: "/" }],
    ["--env-file", "absolute path", { envFile: "relative.env" }],
    ["--working-dir", "no spaces, quotes", { workingDirectory: "/srv/it's" }],
    ["--log", "no spaces", { kind: "cron", log: "/var/log/a b.log" }],
    ["--user", "not a user name", { user: "root; id" }],
    ["--user", "not a user name", { user: "Marketpipe" }],
    ["--user", "not a user name", { user: "1abc" }],
    ["--user", "make a marketpipe user", { user: "nobody" }]
  ])("%s is refused: %s", (field, why, change) => {
    const error = usageErrorOf(() => scheduleJob({ ...backfill, ...change }))
    expect(error.field).toBe(field)
    expect(error.reason).toContain(why)
  })

  test("user names and ids, and time spans systemd reads, are taken", () => {
    for (const user of ["marketpipe", "_mp", "mp-data", "1001"])
      expect(scheduleJob({ ...backfill, user }).user).toBe(user)
    for (const span of ["0", "300", "90s", "1h 30min", "1h30min", "2 days", "500ms"]) {
      expect(scheduleJob({ ...backfill, randomizedDelay: ` ${span} ` }).randomizedDelay).toBe(span)
    }
  })
})

describe("the unit files", () => {
  test("a job: a oneshot service without [Install], started by its timer", () => {
    const [service, timer, ...more] = systemdUnits(scheduleJob({ ...backfill, user: "marketpipe" }))
    expect(more).toEqual([])
    expect(service?.name).toBe("marketpipe-backfill.service")
    expect(timer?.name).toBe("marketpipe-backfill.timer")
    const lines = service?.content.split("\n") ?? []
    for (const line of [
      "Type=oneshot",
      "User=marketpipe",
      "WorkingDirectory=/var/lib/marketpipe",
      "EnvironmentFile=-/etc/marketpipe/marketpipe.env",
      "ExecStart=/usr/local/bin/marketpipe ohlcv backfill --universe core --lookback 5d --config /etc/marketpipe/marketpipe.yaml --data-dir /var/lib/marketpipe/data",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=read-only",
      "PrivateTmp=yes",
      "ReadWritePaths=/var/lib/marketpipe/data",
      "ProtectKernelTunables=yes",
      "ProtectControlGroups=yes",
      "RestrictSUIDSGID=yes",
      "LockPersonality=yes"
    ]) {
      expect(lines).toContain(line)
    }
    expect(service?.content).not.toContain("[Install]")
    expect(service?.content).not.toContain("Restart=")
    expect(service?.content).toMatch(/^Description=MarketPipe marketpipe-backfill: ohlcv backfill/mu)
    const timerLines = timer?.content.split("\n") ?? []
    for (const line of [
      "OnCalendar=Mon..Fri 18:30 America/New_York",
      "Persistent=true",
      "RandomizedDelaySec=5min",
      "Unit=marketpipe-backfill.service",
      "[Install]",
      "WantedBy=timers.target"
    ]) {
      expect(timerLines).toContain(line)
    }
    expect(service?.content.endsWith("LockPersonality=yes\n")).toBe(true)
  })

  test("no --user: no User=; quoted arguments and % survive systemd's reading; a chosen delay and directory", () => {
    const job = scheduleJob({
      ...backfill,
      command: `query "SELECT 100% AS pct, 'a b' AS s" --csv`,
      onCalendar: "* 06:00",
      randomizedDelay: "0",
      workingDirectory: "/srv/mp",
      envFile: "/srv/mp/keys.env"
    })
    const [service, timer] = systemdUnits(job)
    expect(service?.content).not.toContain("User=")
    expect(service?.content).toContain(
      `ExecStart=/usr/local/bin/marketpipe query "SELECT 100%% AS pct, 'a b' AS s" --csv --config`
    )
    expect(service?.content).toContain(`Description=MarketPipe marketpipe-backfill: query 'SELECT 100%% AS pct,`)
    expect(service?.content).toContain("WorkingDirectory=/srv/mp\n")
    expect(service?.content).toContain("EnvironmentFile=-/srv/mp/keys.env\n")
    expect(timer?.content).toContain("OnCalendar=06:00\n")
    expect(timer?.content).toContain("RandomizedDelaySec=0\n")
  })

  test("metrics serve: a simple service restarted on failure, enabled at boot, and no timer", () => {
    const units = systemdUnits(scheduleJob({ ...backfill, name: "marketpipe-metrics", command: "metrics serve" }))
    expect(units.map((u) => u.name)).toEqual(["marketpipe-metrics.service"])
    const content = units[0]?.content ?? ""
    expect(content).toContain("Type=simple\nRestart=on-failure\n")
    expect(content).toContain("\n[Install]\nWantedBy=multi-user.target\n")
    expect(content).toContain("ExecStart=/usr/local/bin/marketpipe metrics serve --config")
    expect(content).not.toContain("Type=oneshot")
  })

  test("no secret is ever written: the environment file is named, its contents are not read", () => {
    for (const unit of systemdUnits(scheduleJob(backfill))) expect(unit.content).not.toMatch(/KEY=|SECRET|TOKEN/u)
  })
})

describe("the crontab block", () => {
  test("CRON_TZ, then the times, the binary and its arguments, appending to the log", () => {
    const block = crontab(scheduleJob({ ...backfill, kind: "cron" }))
    const { fields, zone, rest } = cronOf(block)
    expect(fields).toBe("30 18 * * 1-5")
    expect(zone).toBe("America/New_York")
    expect(rest).toBe(
      "/usr/local/bin/marketpipe ohlcv backfill --universe core --lookback 5d --config /etc/marketpipe/marketpipe.yaml --data-dir /var/lib/marketpipe/data >> /var/lib/marketpipe/data/logs/marketpipe-backfill.log 2>&1"
    )
    expect(block).toContain("# The log's directory (/var/lib/marketpipe/data/logs) must exist")
    expect(block).toContain("and marketpipe\n# reads .env there")
    expect(block.endsWith("2>&1\n")).toBe(true)
  })

  test("--user gives the user field of /etc/cron.d; --env-file is loaded first; % is escaped for cron", () => {
    const block = crontab(
      scheduleJob({
        ...backfill,
        kind: "cron",
        user: "marketpipe",
        envFile: "/etc/marketpipe/marketpipe.env",
        command: "query 'SELECT 100% AS x'",
        onCalendar: "daily",
        log: "/var/log/marketpipe/q.log"
      })
    )
    expect(block).toContain("# For /etc/cron.d/marketpipe-backfill")
    expect(block).toContain("# The times are in the machine's time zone.")
    expect(block).not.toContain("CRON_TZ=")
    expect(block).toContain("loaded from /etc/marketpipe/marketpipe.env")
    expect(cronOf(block).rest).toBe(
      "marketpipe set -a && . /etc/marketpipe/marketpipe.env && set +a && /usr/local/bin/marketpipe query 'SELECT 100\\% AS x' --config /etc/marketpipe/marketpipe.yaml --data-dir /var/lib/marketpipe/data >> /var/log/marketpipe/q.log 2>&1"
    )
  })

  test("a job cron cannot say is a defect, not a crontab", () => {
    const job = scheduleJob(backfill)
    expect(() => crontab({ ...job, calendar: undefined })).toThrow("has no cron time fields")
  })
})
