/**
 * OpenTelemetry tracing. Effect's spans (`marketpipe.job`, `.unit`, `.partition`, `.provider.request`,
 * `.parquet.write`) are exported through the OTel SDK when tracing is on: OTLP/HTTP when the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set or `--trace otlp` is given, one JSON line per span
 * on stderr with `--trace console` (stdout stays the command's own, so `--json` output is unchanged). Off by default,
 * and off loads nothing: the SDK modules are imported only when a layer is built.
 *
 * Span attributes never carry credentials: URL attributes are masked where they are made (`mask`), and the HTTP
 * client's own request spans (whose `url.full` would keep an `apiKey=` query) are turned off in the provider kit.
 */
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { VERSION } from "../version.ts"

export type TracingMode = "off" | "console" | "otlp"

export const tracingModes: ReadonlyArray<TracingMode> = ["off", "console", "otlp"]

export interface TracingOptions {
  readonly mode: TracingMode
  /** OTLP/HTTP traces URL (…/v1/traces); the OTel default (localhost:4318) when absent. */
  readonly endpoint?: string
  readonly serviceName: string
}

export type TracingChoice =
  | {
      readonly _tag: "Chosen"
      readonly options: TracingOptions
      /** The arguments without `--trace <mode>`, for the CLI parser. */
      readonly argv: ReadonlyArray<string>
    }
  | { readonly _tag: "Invalid"; readonly reason: string }

export const DEFAULT_SERVICE_NAME = "marketpipe"
const DEFAULT_OTLP_TRACES_URL = "http://localhost:4318/v1/traces"

const isMode = (value: string): value is TracingMode => (tracingModes as ReadonlyArray<string>).includes(value)

/** The traces URL from the standard variables: the signal-specific one as is, else the base one + `/v1/traces`. */
export function otlpTracesEndpoint(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (traces !== undefined && traces !== "") return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  if (base !== undefined && base !== "") return `${base.replace(/\/+$/u, "")}/v1/traces`
  return undefined
}

/**
 * Decides the tracing mode: `--trace off|console|otlp` (or `--trace=…`) anywhere before `--` wins, the last one if
 * repeated, and is removed from the arguments; else `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` mean
 * off, `OTEL_TRACES_EXPORTER=console|otlp` picks that exporter, and an OTLP endpoint in the environment means OTLP;
 * else off.
 */
export function tracingFromEnvironment(
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): TracingChoice {
  const rest: Array<string> = []
  let flag: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === "--") {
      rest.push(...argv.slice(i))
      break
    }
    if (arg === "--trace") {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith("-")) {
        return { _tag: "Invalid", reason: `--trace needs a mode: ${tracingModes.join(", ")}` }
      }
      flag = value
      i++
    } else if (arg.startsWith("--trace=")) {
      flag = arg.slice("--trace=".length)
    } else {
      rest.push(arg)
    }
  }
  if (flag !== undefined && !isMode(flag)) {
    return { _tag: "Invalid", reason: `--trace must be one of ${tracingModes.join(", ")} (got '${flag}')` }
  }
  const endpoint = otlpTracesEndpoint(env)
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true" || exporter === "none"
  const mode: TracingMode =
    flag ??
    (disabled
      ? "off"
      : exporter === "console"
        ? "console"
        : exporter === "otlp" || endpoint !== undefined
          ? "otlp"
          : "off")
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || DEFAULT_SERVICE_NAME
  return {
    _tag: "Chosen",
    options: { mode, serviceName, ...(mode === "otlp" && endpoint !== undefined ? { endpoint } : {}) },
    argv: rest
  }
}

type ExportCallback = Parameters<SpanExporter["export"]>[1]

const hrToMs = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6

/** One JSON line per finished span on stderr (the SDK's `ConsoleSpanExporter` writes to stdout). */
export class StderrSpanExporter implements SpanExporter {
  constructor(private readonly write: (line: string) => void = (line) => process.stderr.write(line)) {}

  export(spans: Parameters<SpanExporter["export"]>[0], resultCallback: ExportCallback): void {
    for (const span of spans) {
      const context = span.spanContext()
      const line = {
        span: span.name,
        trace_id: context.traceId,
        span_id: context.spanId,
        parent_span_id: span.parentSpanContext?.spanId ?? null,
        start: new Date(hrToMs(span.startTime)).toISOString(),
        duration_ms: Math.round(hrToMs(span.duration) * 1000) / 1000,
        status: span.status.code === 2 ? "error" : span.status.code === 1 ? "ok" : "unset",
        ...(span.status.message === undefined ? {} : { status_message: span.status.message }),
        attributes: span.attributes
      }
      this.write(`${JSON.stringify(line)}\n`)
    }
    resultCallback({ code: 0 })
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }

  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * Effect's tracer backed by the OTel Node SDK with the given span processor(s). Closing the layer flushes and shuts
 * the SDK down (so an in-memory exporter is emptied then: read its spans inside). Also the test hook.
 */
export const tracingLayerWith = (
  spanProcessor: SpanProcessor | ReadonlyArray<SpanProcessor>,
  serviceName: string = DEFAULT_SERVICE_NAME
): Layer.Layer<never> =>
  Layer.unwrap(
    Effect.promise(async () => {
      const { layer } = await import("@effect/opentelemetry/NodeSdk")
      return layer(() => ({
        resource: { serviceName, serviceVersion: VERSION },
        spanProcessor,
        shutdownTimeout: "5 seconds"
      }))
    })
  )

/** The tracing layer for a mode: nothing at all when off. */
export const tracingLayer = (options: TracingOptions): Layer.Layer<never> => {
  switch (options.mode) {
    case "off":
      return Layer.empty
    case "console":
      return Layer.unwrap(
        Effect.promise(async () => {
          const { SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base")
          return tracingLayerWith(new SimpleSpanProcessor(new StderrSpanExporter()), options.serviceName)
        })
      )
    case "otlp":
      return Layer.unwrap(
        Effect.promise(async () => {
          const [{ BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
            import("@opentelemetry/sdk-trace-base"),
            import("@opentelemetry/exporter-trace-otlp-http")
          ])
          const exporter = new OTLPTraceExporter({ url: options.endpoint ?? DEFAULT_OTLP_TRACES_URL })
          return tracingLayerWith(new BatchSpanProcessor(exporter), options.serviceName)
        })
      )
  }
}
