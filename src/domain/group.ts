/** Grouping helpers: one place for "append to the list under a key", done without copying the list each time. */

export function appendTo<K, V>(map: Map<K, Array<V>>, key: K, value: V): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

export function groupBy<A, K>(xs: Iterable<A>, key: (a: A) => K): Map<K, Array<A>> {
  const out = new Map<K, Array<A>>()
  for (const x of xs) appendTo(out, key(x), x)
  return out
}
