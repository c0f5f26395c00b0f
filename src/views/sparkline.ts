/** Eight heights, lowest first (U+2581..U+2588). */
const BARS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of values between their own min and max; a gap (null) is a space. A flat line sits in
 * the middle, so a constant 100% does not read as 0.
 */
export function sparkline(values: readonly (number | null)[]): string {
  const present = values.filter((v): v is number => v !== null);
  if (present.length === 0) return ' '.repeat(values.length);
  const low = Math.min(...present);
  const high = Math.max(...present);
  return values
    .map((v) => {
      if (v === null) return ' ';
      if (high === low) return BARS[3];
      return BARS[Math.min(BARS.length - 1, Math.floor(((v - low) / (high - low)) * BARS.length))];
    })
    .join('');
}
