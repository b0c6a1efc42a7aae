/** `${VAR}` and `${VAR:-default}` expansion in config string values, so secrets stay in the environment. */
import { UsageError } from "../domain/errors.ts"

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/gu

export function expandEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(reference, (_, name: string, fallback: string | undefined) => {
      const found = env[name]
      if (found !== undefined && found !== "") return found
      if (fallback !== undefined) return fallback
      throw new UsageError({
        field: path || "config",
        reason: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`
      })
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`))
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path === "" ? k : `${path}.${k}`)])
    )
  }
  return value
}
