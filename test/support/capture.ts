/** Captures what the CLI writes to stdout and stderr while `f` runs. */
export async function capture<A>(f: () => Promise<A>): Promise<{ value: A; stdout: string; stderr: string }> {
  const out: Array<string> = []
  const err: Array<string> = []
  const [o, e] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)]
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write
  try {
    const value = await f()
    return { value, stdout: out.join(""), stderr: err.join("") }
  } finally {
    process.stdout.write = o
    process.stderr.write = e
  }
}
