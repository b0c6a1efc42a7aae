/**
 * Secret masking. Every credential a plugin hands the HTTP kit is registered here, and every error, log line and
 * span attribute that leaves the kit passes through `mask`, so a key never reaches a terminal, file or database.
 */
const secrets = new Set<string>()

export const registerSecret = (value: string | undefined): void => {
  // Very short values would mask ordinary words; real keys are long.
  if (value !== undefined && value.length >= 6) secrets.add(value)
}

export function mask(text: string): string {
  let out = text
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join("***")
    const encoded = encodeURIComponent(s)
    if (encoded !== s && out.includes(encoded)) out = out.split(encoded).join("***")
  }
  // Belt and braces for URLs built elsewhere: credential-looking query parameters never print.
  return out.replace(/([?&](?:apiKey|apikey|token|api_key|key)=)[^&\s"']+/gu, "$1***")
}
