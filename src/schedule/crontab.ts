/**
 * A scheduled job as a crontab block: comments that say what it is and what it needs, `CRON_TZ=` for the calendar's
 * time zone, and one line that starts marketpipe and appends its output to a log. With `--user` the line has the
 * user field of a system crontab (`/etc/cron.d/<name>`); without, it is for that user's own crontab. The same
 * calendar subset as systemd's (`calendar.ts`), so both kinds of schedule read alike.
 */
import { dirname } from "node:path"
import { shellLine, shellQuote } from "./command-line.ts"
import { GENERATED_HEADER, type ScheduleJob } from "./job.ts"

/** cron turns an unescaped `%` in a command into a line break; `\%` is a `%` (cron drops the backslash). */
const cronEscaped = (command: string) => command.replaceAll("%", "\\%")

/** The crontab block for a job whose calendar cron can say (`scheduleJob` checked that). */
export function crontab(job: ScheduleJob): string {
  const calendar = job.calendar
  if (calendar?.cron === undefined) throw new Error(`schedule ${job.name} has no cron time fields`)
  const credentials =
    job.envFile === undefined
      ? [
          "# Credentials are never written here: cron starts the job in its user's home directory, and marketpipe",
          "# reads .env there (KEY=value lines; chmod 600). Or regenerate with --env-file FILE to load such a file."
        ]
      : [`# Credentials are never written here: they are loaded from ${job.envFile} (KEY=value lines; chmod 600).`]
  const run = shellLine(job.argv)
  const command = job.envFile === undefined ? run : `set -a && . ${shellQuote(job.envFile)} && set +a && ${run}`
  return [
    GENERATED_HEADER,
    `# ${job.name}: marketpipe ${job.summary}, on ${calendar.onCalendar}.`,
    job.user === undefined
      ? "# For the crontab of the user it runs as (crontab -e, or crontab FILE, which replaces that crontab)."
      : `# For /etc/cron.d/${job.name} (a system crontab: the field after the times is the user, ${job.user}).`,
    ...credentials,
    `# The log's directory (${dirname(job.log)}) must exist: cron does not create it.`,
    ...(calendar.timeZone === undefined
      ? ["# The times are in the machine's time zone."]
      : [
          `# CRON_TZ applies to every line below it in this crontab; not every cron honours it (see docs/scheduling.md).`,
          `CRON_TZ=${calendar.timeZone}`
        ]),
    [
      calendar.cron,
      ...(job.user === undefined ? [] : [job.user]),
      cronEscaped(`${command} >> ${shellQuote(job.log)} 2>&1`)
    ].join(" "),
    ""
  ].join("\n")
}
