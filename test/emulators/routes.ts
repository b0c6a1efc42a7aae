/** Every provider format the emulator speaks. */
import { alpacaRoutes } from "./alpaca.ts"
import { polygonRoutes } from "./polygon.ts"
import type { ProviderRoutes } from "./types.ts"

export const allRoutes: ReadonlyArray<ProviderRoutes> = [alpacaRoutes, polygonRoutes]
