/**
 * A scheduled job as systemd units: `<name>.service` runs marketpipe once (`Type=oneshot`) and `<name>.timer` starts it
 * on the calendar; a command that runs until stopped (`metrics serve`) is a `Type=simple` service restarted on
 * failure, enabled at boot, with no timer. Credentials come from an `EnvironmentFile=`, never from the unit, and the
 * service is sandboxed so the data directory is all it may write.
 */
import { systemdLine } from "./command-line.ts"
import { GENERATED_HEADER, type GeneratedFile, type ScheduleJob } from "./job.ts"

/** Text for `Description=`: systemd expands `%` specifiers there too. */
const described = (text: string) => text.replaceAll("%", "%%")

/** The sandbox: everything read-only but the data directory, no privileges gained, kernel and cgroups untouchable. */
const hardening = (dataDir: string) => [
  "# Sandbox: the system and home directories are read-only; the data directory is all the job may write.",
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "ProtectHome=read-only",
  "PrivateTmp=yes",
  `ReadWritePaths=${dataDir}`,
  "ProtectKernelTunables=yes",
  "ProtectControlGroups=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes"
]

const unitFile = (sections: ReadonlyArray<ReadonlyArray<string>>) =>
  `${GENERATED_HEADER}\n${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`

function service(job: ScheduleJob): string {
  const lifetime = job.longRunning ? ["Type=simple", "Restart=on-failure", "RestartSec=10s"] : ["Type=oneshot"]
  return unitFile([
    [
      "[Unit]",
      `Description=MarketPipe ${job.name}: ${described(job.summary)}`,
      "Wants=network-online.target",
      "After=network-online.target"
    ],
    [
      "[Service]",
      ...lifetime,
      ...(job.user === undefined ? [] : [`User=${job.user}`]),
      `WorkingDirectory=${job.workingDirectory}`,
      "# Credentials (provider API keys) come from this file, never from the unit ('-': the file may be missing).",
      `EnvironmentFile=-${job.envFile}`,
      `ExecStart=${systemdLine(job.argv)}`,
      ...hardening(job.dataDir)
    ],
    ...(job.longRunning ? [["[Install]", "WantedBy=multi-user.target"]] : [])
  ])
}

function timer(job: ScheduleJob, onCalendar: string): string {
  return unitFile([
    ["[Unit]", `Description=MarketPipe ${job.name} on ${described(onCalendar)}`],
    [
      "[Timer]",
      `OnCalendar=${onCalendar}`,
      "# A run missed while the machine was off starts when it is back.",
      "Persistent=true",
      `RandomizedDelaySec=${job.randomizedDelay}`,
      `Unit=${job.name}.service`
    ],
    ["[Install]", "WantedBy=timers.target"]
  ])
}

/** The job's unit files: the service, and the timer unless the command runs until stopped. */
export function systemdUnits(job: ScheduleJob): ReadonlyArray<GeneratedFile> {
  const units = [{ name: `${job.name}.service`, content: service(job) }]
  if (job.calendar !== undefined)
    units.push({ name: `${job.name}.timer`, content: timer(job, job.calendar.onCalendar) })
  return units
}
