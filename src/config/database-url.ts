/**
 * `database_url` / `DATABASE_URL`: which repository backend a run uses. Only SQLite and PostgreSQL exist, so anything
 * else — another scheme, or a Postgres URL that does not parse — is a usage error before any file or connection is
 * made, never a silent fallback to SQLite.
 */
import { isAbsolute, resolve } from "node:path"
import { shown, UsageError } from "../domain/errors.ts"

export const ALLOWED_DATABASE_URLS =
  "sqlite:<path> (the default, <data_dir>/marketpipe.db), postgres://user:password@host:port/database or postgresql://…"

/** `postgres://user:***@host/db`: the URL as it may be shown. */
export const maskedUrl = (url: string): string => url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/u, "$1***@")

/** The SQLite file a `sqlite:` URL names (`sqlite::memory:` for an in-memory database). */
export const sqlitePath = (url: string): string => url.replace(/^sqlite:(\/\/)?/u, "")

/**
 * Checks a database URL and makes a relative SQLite path absolute (from `cwd`, like the data dir). `field` names
 * where the URL came from (`DATABASE_URL` or `config database_url`).
 */
export function checkDatabaseUrl(url: string, field: string, cwd: string): string {
  const bad = (why: string) =>
    new UsageError({ field, reason: `${shown(maskedUrl(url))} ${why}; use ${ALLOWED_DATABASE_URLS}` })
  if (url.startsWith("sqlite:")) {
    const path = sqlitePath(url)
    if (path === "") throw bad("names no file")
    if (path.includes("\u0000")) throw bad("names a path with a NUL character")
    return path === ":memory:" || isAbsolute(path) ? `sqlite:${path}` : `sqlite:${resolve(cwd, path)}`
  }
  if (!/^postgres(ql)?:\/\//u.test(url)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/iu.exec(url)?.[1]
    throw bad(scheme === undefined ? "is not a database URL" : `uses '${scheme}:', which MarketPipe does not support`)
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw bad("is not a valid URL")
  }
  if (parsed.hostname === "") throw bad("names no host")
  if (parsed.port !== "" && !(Number(parsed.port) > 0 && Number(parsed.port) < 65536)) throw bad("has a bad port")
  return url
}
