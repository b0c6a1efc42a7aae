/**
 * MarketPipe's public surface: the bar and calendar model, `loadOhlcv()` for research (columnar bars from the lake),
 * the provider plugin SDK (contract v1), and the services and layers the CLI is built from. Third-party plugins import
 * types from here only.
 */
export { Bar, type BarBatch, type BatchBuilder, barsOf, batchFromBars, emptyBatch } from "./src/domain/bar.ts"
export {
  type CalendarOptions,
  makeCalendar,
  type Session,
  type SessionKind,
  type TradingCalendar,
  TradingDay
} from "./src/domain/calendar.ts"
export { ProviderError, RepositoryError, StorageError, UsageError } from "./src/domain/errors.ts"
export { normaliseSymbol, parseSymbol, Symbol } from "./src/domain/symbol.ts"
export { Timeframe, timeframes } from "./src/domain/timeframe.ts"
export {
  type LoadOhlcvOptions,
  loadOhlcv,
  loadOhlcvEffect,
  type OhlcvColumn,
  type OhlcvColumnData,
  type OhlcvFrame,
  type OhlcvRow,
  type OhlcvRowValue,
  type OhlcvSegment,
  ohlcvColumns,
  type SessionFilter,
  type TimeInput
} from "./src/lake/load/load-ohlcv.ts"
export {
  type BarColumns,
  type BarColumnsSpec,
  type BarsRequest,
  type ColumnsPage,
  type CorporateAction,
  type CorporateActionsCapabilities,
  type CorporateActionsRequest,
  type DividendAction,
  type GetDecodedOptions,
  type HttpJsonResponse,
  type HttpKitOptions,
  type HttpTuning,
  type HttpTuningFields,
  type MarketDayBar,
  PLUGIN_CONTRACT_VERSION,
  type PluginEffect,
  type PluginHost,
  type PluginStream,
  type ProviderCapabilities,
  type ProviderClient,
  type ProviderCorporateActions,
  type ProviderErrorOptions,
  type ProviderHttp,
  type ProviderKit,
  type ProviderPlugin,
  type ProviderReference,
  type ProviderSettings,
  type QueryValue,
  type RateLimit,
  type ReferenceCapabilities,
  type ReferenceRequest,
  type SecurityType,
  type SplitAction,
  SUPPORTED_CONTRACT_VERSIONS,
  type SymbolMeta,
  type TimeField
} from "./src/providers/contract.ts"
export { Jobs } from "./src/repository/jobs.ts"
export { type Repository, repositoryLayer } from "./src/repository/layer.ts"
export { Ledger } from "./src/repository/ledger.ts"
export { MetricHistory } from "./src/repository/metric-history.ts"
export { ValidationRuns } from "./src/repository/validation-runs.ts"
export { WorkQueue } from "./src/repository/work-queue.ts"
