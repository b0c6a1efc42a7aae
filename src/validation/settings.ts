/** Rule settings from the config's `validation` section, over the defaults. */
import type { ConfigV1 } from "../config/schema.ts"
import { defaultRuleSettings, type RuleSettings } from "../domain/validation.ts"

export function ruleSettings(config: ConfigV1): RuleSettings {
  const v = config.validation
  if (v === undefined) return defaultRuleSettings
  return {
    severity: { ...defaultRuleSettings.severity, ...v.rules },
    jumpThreshold: v.price_jump_threshold ?? defaultRuleSettings.jumpThreshold,
    spikeFactor: v.volume_spike_factor ?? defaultRuleSettings.spikeFactor,
    spikeWindow: v.volume_spike_window ?? defaultRuleSettings.spikeWindow,
    gapMinutes: v.gap_minutes ?? defaultRuleSettings.gapMinutes
  }
}
