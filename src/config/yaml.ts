/**
 * Config YAML to plain data. The `yaml` package's own duplicate-key check compares every key with every other (a
 * 20,000-key mapping took seconds), so keys are checked here in one pass instead; alias expansion stays capped by the
 * package (no "billion laughs"). Errors are the first line of the parser's message.
 */
import { isMap, parseDocument, visit } from "yaml"

/** The document's data, or an `Error` saying what is wrong with the text. */
export function parseConfigYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false })
  const [first] = doc.errors
  if (first !== undefined) throw new Error(first.message.split("\n")[0])
  let duplicate: string | undefined
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return
      const seen = new Set<string>()
      for (const pair of map.items) {
        const key = JSON.stringify((pair.key as { value?: unknown } | null)?.value ?? pair.key)
        if (seen.has(key)) {
          duplicate = key
          return visit.BREAK
        }
        seen.add(key)
      }
      return undefined
    }
  })
  if (duplicate !== undefined) throw new Error(`the key ${duplicate.slice(0, 60)} appears twice in one mapping`)
  return doc.toJS({ maxAliasCount: 100 })
}
