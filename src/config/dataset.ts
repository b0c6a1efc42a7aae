/**
 * Datasets: a second lake beside the main one (`--dataset polygon`), for keeping another provider's bars of the same
 * symbols and days (the ledger holds one source per frame, symbol and day). A dataset has its own data directory,
 * `<data_dir>/datasets/<name>/` (lake, versions, reports), and its own repository: its own SQLite file there, or, on
 * Postgres, its own schema `dataset_<name>` in the same database (`marketpipe_schema` on the URL, which the
 * repository layer applies and never sends to the server).
 */
import { join } from "node:path"
import { UsageError } from "../domain/errors.ts"
import type { LoadedConfig } from "./load.ts"

const NAME = /^[a-z][a-z0-9_-]{0,31}$/u

/** The URL parameter naming the Postgres schema a dataset's repository lives in. */
export const SCHEMA_PARAM = "marketpipe_schema"

export function checkDatasetName(field: string, name: string): string {
  if (!NAME.test(name)) {
    throw new UsageError({
      field,
      reason: `${JSON.stringify(name.slice(0, 40))} is not a dataset name: 1-32 of a-z, 0-9, '_' and '-', starting with a letter`
    })
  }
  return name
}

/** `url` with the dataset's schema as its `marketpipe_schema` parameter. */
const withSchema = (url: string, schema: string): string => {
  const u = new URL(url)
  u.searchParams.set(SCHEMA_PARAM, schema)
  return u.toString()
}

/** The loaded config with `name`'s data dir and repository in place of the main ones. */
export function withDataset(loaded: LoadedConfig, name: string, field = "--dataset"): LoadedConfig {
  checkDatasetName(field, name)
  const dataDir = join(loaded.dataDir, "datasets", name)
  const databaseUrl = loaded.databaseUrl.startsWith("sqlite:")
    ? `sqlite:${join(dataDir, "marketpipe.db")}`
    : withSchema(loaded.databaseUrl, `dataset_${name.replaceAll("-", "_")}`)
  return { ...loaded, dataDir, databaseUrl, dataset: name }
}

/**
 * Splits a Postgres URL into the one the driver gets and the schema a dataset asked for (`bad` when the parameter
 * names no schema MarketPipe would make).
 */
export function schemaOf(url: string): { readonly url: string; readonly schema?: string; readonly bad?: string } {
  if (!url.includes(SCHEMA_PARAM)) return { url }
  const u = new URL(url)
  const schema = u.searchParams.get(SCHEMA_PARAM) ?? ""
  u.searchParams.delete(SCHEMA_PARAM)
  if (!/^[a-z][a-z0-9_]{0,62}$/u.test(schema)) return { url: u.toString(), bad: `${SCHEMA_PARAM} is not a schema name` }
  return { url: u.toString(), schema }
}
