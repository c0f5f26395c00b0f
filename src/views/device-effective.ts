import type { EffectiveOfDevice, Origin } from '../monitoring/device-effective.js';
import { printable } from '../printable.js';
import { textTable } from './table.js';

/** rmm get devices NAME --effective for people: monitors, schedules, then ties, each with its origin. */
export function effectiveText(device: string, effective: EffectiveOfDevice): string {
  const via = (o: Origin) => o.via.join(' > ');
  const lines: string[] = [`Effective monitors of Device/${printable(device)}:`];
  if (effective.monitors.length === 0) lines.push('  none');
  else
    lines.push(
      textTable(
        [
          ['POLICY', (m) => m.policy],
          ['VIA GROUPS', via],
          ['MONITOR', (m) => m.name],
          ['SERIES', (m) => m.series],
          ['CONDITION', (m) => `${m.when.op} ${m.when.value}${m.when.for ? ` for ${m.when.for}` : ''}`],
          ['INTERVAL', (m) => m.interval],
          ['SEVERITY', (m) => m.severity],
          ['AUTO-RESOLVE', (m) => (m.autoResolve ? 'yes' : 'no')],
        ],
        effective.monitors,
      ),
    );
  lines.push('', 'Schedules:');
  if (effective.schedules.length === 0) lines.push('  none');
  else
    lines.push(
      textTable(
        [
          ['POLICY', (s) => s.policy],
          ['VIA GROUPS', via],
          ['ACTION', (s) => s.action],
          ['EVERY', (s) => duration(s.everyMs)],
          ['PRIORITY', (s) => String(s.priority)],
          ['COMMAND', (s) => s.command ?? ''],
        ],
        effective.schedules,
      ),
    );
  if (effective.conflicts.length > 0) {
    lines.push('', 'Conflicts (rmm validate refuses these; both policies apply until fixed):');
    for (const c of effective.conflicts)
      lines.push(
        `  ${printable(c.series)}: ${c.policies.map((p) => `policy ${printable(p.policy)} via ${printable(via(p))}`).join(' and ')}`,
      );
  }
  for (const problem of effective.problems) lines.push(`warning: ${printable(problem)}`);
  return lines.join('\n');
}

/** Milliseconds as rmm's duration form: 1d, 1h30m, 90s. */
function duration(ms: number): string {
  let rest = Math.round(ms / 1000);
  let text = '';
  for (const [unit, seconds] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= seconds) {
      text += `${Math.floor(rest / seconds)}${unit}`;
      rest %= seconds;
    }
  }
  return text || '0s';
}
