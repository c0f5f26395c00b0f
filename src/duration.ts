/**
 * The YAML duration form (common.schema.json#/$defs/duration: 30s, 5m, 24h, 7d, 1h30m) in seconds.
 * The schema has checked the form already; anything else is undefined rather than a guess.
 */
const PART = /([0-9]{1,6})(s|m|h|d)/g;
const FORM = /^([0-9]{1,6}(s|m|h|d))+$/;
const SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

export function durationSeconds(text: string): number | undefined {
  if (!FORM.test(text)) return undefined;
  let total = 0;
  for (const [, count, unit] of text.matchAll(PART))
    total += Number(count) * SECONDS[unit as keyof typeof SECONDS];
  return total;
}
