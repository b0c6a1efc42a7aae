/**
 * Config migrations, one step per version. Each step says how a file of version N becomes version N+1, on the data
 * (how an old file is read) and on the YAML document (`config migrate`, which keeps comments and layout where the
 * step leaves them alone). v1 → v2: only the version changes; v1's free-form `retention` is read by v2's typed one,
 * so a v1 `retention` that v2 does not accept fails naming its key (a migration never guesses a retention). v2 → v3:
 * only the version changes; so does v3 → v4.
 */
import { type Document, isMap, parseDocument, type Scalar } from "yaml"
import { UsageError } from "../domain/errors.ts"
import { CURRENT_CONFIG_VERSION } from "./schema.ts"

interface Step {
  readonly data: (data: Readonly<Record<string, unknown>>) => Record<string, unknown>
  readonly document: (doc: Document) => void
}

/** Puts `config_version: to` first in the document: where a reader looks for it. */
function setVersion(doc: Document, to: number): void {
  const contents = doc.contents
  if (!isMap(contents)) return
  const existing = contents.items.find((p) => (p.key as Scalar | null)?.value === "config_version")
  if (existing !== undefined) {
    existing.value = doc.createNode(to)
    return
  }
  contents.items.unshift(doc.createPair("config_version", to) as (typeof contents.items)[number])
}

/** `steps[n]` takes version n to n + 1. */
const steps: Readonly<Record<number, Step>> = {
  1: {
    data: (data) => ({ ...data, config_version: 2 }),
    document: (doc) => setVersion(doc, 2)
  },
  // v2 → v3 adds `providers_chain`; nothing of v2 changes.
  2: {
    data: (data) => ({ ...data, config_version: 3 }),
    document: (doc) => setVersion(doc, 3)
  },
  // v3 → v4 adds `revalidate` and `retention.versions`; nothing of v3 changes.
  3: {
    data: (data) => ({ ...data, config_version: 4 }),
    document: (doc) => setVersion(doc, 4)
  }
}

/** The data of a version-`from` file as version `to` (`from` ≤ `to` ≤ current). */
export function upgradeData(
  data: Readonly<Record<string, unknown>>,
  from: number,
  to: number
): Record<string, unknown> {
  let out: Record<string, unknown> = { ...data }
  for (let v = from; v < to; v++) {
    const step = steps[v]
    if (step !== undefined) out = step.data(out)
  }
  return out
}

export interface MigratedText {
  readonly from: number
  readonly to: number
  readonly text: string
}

/**
 * A config file's text migrated to version `to` (default the current one), comments kept. A file without
 * `config_version` is taken as version 1, the only version before the key was required.
 */
export function migrateText(text: string, to: number = CURRENT_CONFIG_VERSION): MigratedText {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false })
  const [first] = doc.errors
  if (first !== undefined)
    throw new UsageError({ field: "FILE", reason: `not valid YAML: ${first.message.split("\n")[0]}` })
  const data = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as unknown
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new UsageError({ field: "FILE", reason: "a config file holds a YAML mapping of config keys" })
  }
  const version = (data as Record<string, unknown>).config_version ?? 1
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1 || version > CURRENT_CONFIG_VERSION) {
    throw new UsageError({
      field: "config_version",
      reason: `${JSON.stringify(version)} is not a version this build can migrate from (1 to ${CURRENT_CONFIG_VERSION})`
    })
  }
  if (!Number.isInteger(to) || to < 1 || to > CURRENT_CONFIG_VERSION) {
    throw new UsageError({ field: "--to", reason: `${to} is not a config version; use 1 to ${CURRENT_CONFIG_VERSION}` })
  }
  if (to < version) {
    throw new UsageError({
      field: "--to",
      reason: `the file is version ${version}; migrations only go forward (to ${version} or later)`
    })
  }
  if (to === version) return { from: version, to, text }
  for (let v = version; v < to; v++) steps[v]?.document(doc)
  return { from: version, to, text: doc.toString({ lineWidth: 0 }) }
}
