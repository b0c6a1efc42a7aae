/** Every provider format the emulator speaks. */
import { alpacaRoutes } from "./alpaca.ts"
import type { ProviderRoutes } from "./types.ts"

export const allRoutes: ReadonlyArray<ProviderRoutes> = [alpacaRoutes]
