/**
 * Alpaca Market Data v2 (stock bars), corporate actions (`corporate-actions.ts`: splits and cash dividends, from the
 * same data host) and Trading API assets. Multi-symbol requests with `page_token` paging, `limit` 10,000 counted
 * across symbols; feeds iex (free) and sip; credentials `ALPACA_KEY` + `ALPACA_SECRET`.
 */
import type {
  BarBatch,
  BarsRequest,
  PluginHost,
  ProviderPlugin,
  ProviderSettings,
  Symbol,
  SymbolMeta
} from "../../mod.ts"
import { makeCorporateActions } from "./corporate-actions.ts"
import { assetMeta, barColumns, pageSchemas, toBatch } from "./wire.ts"

const DATA_URL = "https://data.alpaca.markets"
const TRADING_URL = "https://paper-api.alpaca.markets"

const timeframes = { "1m": "1Min", "5m": "5Min", "15m": "15Min", "30m": "30Min", "1h": "1Hour", "1d": "1Day" } as const

/** A field of an error body as text: a string or number only (anything else may be huge or nested too deep to print). */
const textOf = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "number" ? String(value) : ""

const optionsSchema = ({ Schema: S, kit }: PluginHost) =>
  S.Struct({
    trading_base_url: S.optionalKey(S.String),
    ...kit.httpTuningFields,
    page_limit: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 10_000 }))),
    /** Corporate actions a page (Alpaca's `limit`, 1–1000). */
    corporate_actions_limit: S.optionalKey(S.Int.check(S.isBetween({ minimum: 1, maximum: 1000 })))
  })

const plugin: ProviderPlugin = {
  contractVersion: 3,
  name: "alpaca",
  description: "Alpaca Market Data v2 (IEX free, SIP paid)",
  capabilities: {
    feeds: ["iex", "sip"],
    defaultFeed: "iex",
    timeframes: ["1m", "5m", "15m", "30m", "1h", "1d"],
    maxBarsPerRequest: 10_000,
    maxSymbolsPerRequest: 100,
    historyDays: null,
    rateLimit: { requests: 200, perSeconds: 60 },
    adjustments: ["raw", "split", "dividend", "all"],
    credentials: ["ALPACA_KEY", "ALPACA_SECRET"],
    hosts: [DATA_URL, TRADING_URL],
    // Assets carry no dates, no history and no market cap or sector: the list as it is now, and nothing more.
    reference: { pointInTime: false, delisted: false, detailFields: [], marketDay: false },
    corporateActions: { splits: true, dividends: true }
  },
  make: (host: PluginHost, settings: ProviderSettings) =>
    host.Effect.gen(function* () {
      const { Effect, Stream, Schema, Option, kit } = host
      const opts = yield* kit.decodeOptions(optionsSchema(host), settings.options)
      const key = settings.env.ALPACA_KEY ?? settings.env.APCA_API_KEY_ID
      const secret = settings.env.ALPACA_SECRET ?? settings.env.APCA_API_SECRET_KEY
      if (key === undefined || key === "" || secret === undefined || secret === "") {
        return yield* kit.providerError({
          reason: "set ALPACA_KEY and ALPACA_SECRET (your Alpaca API key id and secret)",
          retryable: false,
          fatal: true
        })
      }
      const feed = settings.feed ?? plugin.capabilities.defaultFeed
      const common = {
        feed,
        secrets: [key, secret],
        rateLimit: settings.rateLimit ?? plugin.capabilities.rateLimit,
        headers: { "APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret },
        ...kit.httpTuning(opts)
      }
      const data = kit.http({
        ...common,
        baseUrl: settings.baseUrl ?? DATA_URL,
        explain: (status, body) => {
          const message = textOf((body as { message?: unknown } | null)?.message)
          if (status === 403 && /subscription does not permit/iu.test(message)) {
            return {
              reason:
                "your Alpaca plan cannot query SIP data from the last 15 minutes: use --feed iex, or end the range earlier"
            }
          }
          if (status === 403 || status === 401) {
            return {
              reason: `Alpaca rejected the credentials (HTTP ${status} ${message}): check ALPACA_KEY and ALPACA_SECRET`,
              fatal: true
            }
          }
          return undefined
        }
      })
      const trading = kit.http({
        ...common,
        baseUrl: opts.trading_base_url ?? settings.baseUrl ?? TRADING_URL,
        explain: (status) =>
          status === 401 || status === 403
            ? {
                reason: `Alpaca Trading API rejected the credentials (HTTP ${status}): check ALPACA_KEY and ALPACA_SECRET`,
                fatal: true
              }
            : undefined
      })
      const schemas = pageSchemas(Schema)

      /** Where the next page starts, and the tokens followed so far. */
      const firstPage: { readonly token: string | undefined; readonly followed: ReadonlySet<string> } = {
        token: undefined,
        followed: new Set()
      }
      const pages = (request: BarsRequest, symbols: ReadonlyArray<Symbol>) =>
        Stream.paginate(firstPage, ({ token: pageToken, followed }) =>
          data
            .getColumns("/v2/stocks/bars", barColumns, schemas.multi, {
              what: "Alpaca bars page",
              query: {
                symbols: symbols.join(","),
                timeframe: timeframes[request.frame as keyof typeof timeframes],
                start: new Date(request.start).toISOString(),
                // Alpaca's `end` is inclusive; ours is exclusive.
                end: new Date(request.end - 1000).toISOString(),
                limit: opts.page_limit ?? 10_000,
                adjustment: request.adjustment,
                feed: request.feed,
                sort: "asc",
                page_token: pageToken
              }
            })
            .pipe(
              Effect.flatMap((read) => {
                const batches: Array<BarBatch> = []
                // Bars of a symbol not asked for are not this request's.
                const wanted = (raw: string) => {
                  const symbol = kit.parseSymbol(raw)
                  return symbol !== undefined && symbols.includes(symbol) ? symbol : undefined
                }
                if (read._tag === "Columns") {
                  for (const { key, ts, open, high, low, close, volume, tradeCount, vwap } of read.groups) {
                    const symbol = wanted(key)
                    if (symbol === undefined || ts.length === 0) continue
                    batches.push({ symbol, ts, open, high, low, close, volume, tradeCount, vwap })
                  }
                } else {
                  // A page the columns reader did not take: these checks say which bar is wrong.
                  for (const [raw, list] of Object.entries(read.value.bars ?? {})) {
                    const symbol = wanted(raw)
                    if (symbol === undefined || list === null || list.length === 0) continue
                    const batch = toBatch(kit, symbol, list)
                    if (typeof batch === "string")
                      return Effect.fail(kit.providerError({ reason: batch, retryable: true }))
                    batches.push(batch)
                  }
                }
                const token = read._tag === "Columns" ? read.kept.next_page_token : read.value.next_page_token
                const next = token ?? undefined
                if (next === undefined || next === "") return Effect.succeed([batches, Option.none()] as const)
                // A token handed back again (a cycle) would be paged forever.
                if (followed.has(next)) {
                  return Effect.fail(
                    kit.providerError({ reason: "next_page_token repeats a page already read", retryable: true })
                  )
                }
                return Effect.succeed([
                  batches,
                  Option.some({ token: next, followed: new Set([...followed, next]) })
                ] as const)
              })
            )
        )

      const bars = (request: BarsRequest) => {
        const size = plugin.capabilities.maxSymbolsPerRequest
        const groups: Array<ReadonlyArray<Symbol>> = []
        for (let i = 0; i < request.symbols.length; i += size) groups.push(request.symbols.slice(i, i + size))
        return Stream.fromIterable(groups).pipe(Stream.flatMap((group) => pages(request, group)))
      }

      /** One status's US equities (the list is one unpaginated array), as symbol metadata. */
      const assets = (status: "active" | "inactive") =>
        trading
          .getDecoded("/v2/assets", schemas.assets, {
            what: `Alpaca ${status} assets list`,
            query: { status, asset_class: "us_equity" }
          })
          .pipe(
            Effect.map((list) =>
              list.flatMap((asset): Array<SymbolMeta> => {
                const meta = assetMeta(kit, asset)
                return meta === undefined ? [] : [meta]
              })
            )
          )

      const symbols = () => Stream.fromIterableEffect(assets("active"))

      /**
       * Active and inactive assets. Alpaca has no point in time and no per-symbol details, so `request` changes
       * nothing; an inactive asset whose ticker an active one now uses is the old company, and the active one wins.
       */
      const referenceSymbols = () =>
        Stream.fromIterableEffect(
          Effect.gen(function* () {
            const active = yield* assets("active")
            const inactive = yield* assets("inactive")
            const taken = new Set(active.map((meta) => meta.symbol))
            return [...active, ...inactive.filter((meta) => !taken.has(meta.symbol))]
          })
        )

      const corporateActions = makeCorporateActions({
        host,
        data,
        pageLimit: opts.corporate_actions_limit ?? 1000,
        symbolsPerRequest: plugin.capabilities.maxSymbolsPerRequest
      })

      return { bars, symbols, reference: { symbols: referenceSymbols }, corporateActions }
    })
}

export default plugin
