/**
 * The lake's columns as another writer (hyparquet-writer with its own layouts) would declare them: what the tests of
 * the reader write to prove it reads files the sink did not write.
 */
const text = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" } as const
const number = { type: "DOUBLE", repetition_type: "REQUIRED" } as const

/** The schema of a lake file; `partial` adds the aggregated frames' `is_partial` flag. */
export const foreignLakeSchema = (partial: boolean) => [
  { name: "schema", num_children: partial ? 12 : 11 },
  { name: "symbol", ...text },
  {
    name: "ts",
    type: "INT64",
    repetition_type: "REQUIRED",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
  } as const,
  { name: "open", ...number },
  { name: "high", ...number },
  { name: "low", ...number },
  { name: "close", ...number },
  { name: "volume", ...number },
  { name: "trade_count", type: "INT64", repetition_type: "OPTIONAL" } as const,
  { name: "vwap", type: "DOUBLE", repetition_type: "OPTIONAL" } as const,
  { name: "provider", ...text },
  { name: "feed", ...text },
  ...(partial ? [{ name: "is_partial", type: "BOOLEAN", repetition_type: "REQUIRED" } as const] : [])
]
