/** Every provider format the emulator speaks. */
import { alpacaRoutes } from "./alpaca.ts"
import { finnhubRoutes } from "./finnhub.ts"
import { polygonRoutes } from "./polygon.ts"
import type { ProviderRoutes } from "./types.ts"
import { yahooRoutes } from "./yahoo.ts"

export const allRoutes: ReadonlyArray<ProviderRoutes> = [alpacaRoutes, polygonRoutes, finnhubRoutes, yahooRoutes]
