import type { EffectiveMonitorOfDevice, EffectiveOfDevice } from '../monitoring/device-effective.js';
import type { FieldOrigin, OverrideField } from '../monitoring/monitor-overrides.js';
import { printable } from '../printable.js';
import { textTable } from './table.js';

/**
 * rmm get devices NAME --effective for people: monitors, each value an override changed with where
 * that override is (as `git config --show-origin` shows a value's file), schedules, then ties.
 */
export function effectiveText(device: string, effective: EffectiveOfDevice): string {
  const lines: string[] = [`Effective monitors of Device/${printable(device)}:`];
  if (effective.monitors.length === 0) lines.push('  none');
  else
    lines.push(
      textTable(
        [
          ['POLICY', (m) => m.policy],
          ['FROM', from],
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
  const changes = [
    ...effective.monitors.flatMap((m) => overriddenValues(m, false)),
    ...effective.disabled.flatMap((m) => overriddenValues(m, true)),
  ];
  if (changes.length > 0)
    lines.push(
      '',
      'Overridden values:',
      textTable(
        [
          ['MONITOR', (c) => c.monitor],
          ['FIELD', (c) => c.field],
          ['VALUE', (c) => c.value],
          ['FROM', (c) => from(c.origin)],
        ],
        changes,
      ),
    );
  if (effective.disabled.length > 0)
    lines.push(
      '',
      `Disabled by an override: ${effective.disabled.map((m) => printable(`${m.policy}/${m.name}`)).join(', ')}`,
    );
  lines.push('', 'Schedules:');
  if (effective.schedules.length === 0) lines.push('  none');
  else
    lines.push(
      textTable(
        [
          ['POLICY', (s) => s.policy],
          ['FROM', from],
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
        `  ${printable(c.series)}: ${c.policies.map((p) => `policy ${printable(p.policy)} from ${printable(from(p))}`).join(' and ')}`,
      );
  }
  for (const c of effective.clashes)
    lines.push(
      `warning: ${printable(`overrides of ${c.holders.map(from).join(' and ')} both set ${c.field} of ${c.policy}/${c.monitor}; the last applies (rmm validate refuses this)`)}`,
    );
  for (const problem of effective.problems) lines.push(`warning: ${printable(problem)}`);
  return lines.join('\n');
}

/** Where a policy or an override is attached: `site main`, `group web > servers`, `device web-01`. */
function from(o: FieldOrigin): string {
  return o.level === 'group' ? `group ${o.via.join(' > ')}` : `${o.level} ${o.holder}`;
}

function overriddenValues(m: EffectiveMonitorOfDevice, disabled: boolean) {
  const shownValue: Record<OverrideField, () => string> = {
    'when.op': () => m.when.op,
    'when.value': () => String(m.when.value),
    'when.for': () => m.when.for ?? '',
    severity: () => m.severity,
    disabled: () => String(disabled),
  };
  return Object.entries(m.overridden).map(([field, origin]) => ({
    monitor: printable(`${m.policy}/${m.name}`),
    field,
    value: printable(shownValue[field as OverrideField]()),
    origin: origin as FieldOrigin,
  }));
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
