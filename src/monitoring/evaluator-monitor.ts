import { durationSeconds } from '../duration.js';
import type { ResolvedMonitor } from './effective-monitors.js';
import type { EffectiveMonitor } from './monitors.js';

/**
 * A resolved monitor (a policy's Monitor, with the interval it runs at) in the shape the evaluator
 * reads. Pure. Validation has checked what `rmm apply` stored; rows edited by hand may hold anything,
 * so a monitor this cannot read is refused with why (the service logs it), never guessed at.
 */
const OPS = new Set<string>(['>', '>=', '<', '<=', '==', '!=']);
const SEVERITIES = new Set<string>(['Info', 'Warning', 'Critical']);

export function evaluatorMonitor(resolved: ResolvedMonitor): EffectiveMonitor | { problem: string } {
  const m = resolved.monitor;
  const named = `policy ${resolved.policy}: monitor ${typeof m.name === 'string' ? m.name : '?'}`;
  const intervalS = durationSeconds(String(resolved.interval));
  const forS = m.when?.for === undefined ? 0 : durationSeconds(String(m.when.for));
  if (typeof m.name !== 'string' || typeof m.metric !== 'string' || typeof m.when !== 'object')
    return { problem: `${named}: not a monitor (no name, metric or when)` };
  if (!OPS.has(m.when.op) || typeof m.when.value !== 'number' || !Number.isFinite(m.when.value))
    return { problem: `${named}: when needs an operator and a number` };
  if (intervalS === undefined || intervalS <= 0 || forS === undefined)
    return { problem: `${named}: interval or for is not a duration` };
  if (!SEVERITIES.has(m.severity)) return { problem: `${named}: severity is not Info, Warning or Critical` };
  const match = m.match ?? {};
  if (typeof match !== 'object' || Object.values(match).some((v) => typeof v !== 'string'))
    return { problem: `${named}: match is not a map of strings` };
  return {
    policy: resolved.policy,
    name: m.name,
    metric: m.metric,
    match,
    op: m.when.op,
    threshold: m.when.value,
    forMs: forS * 1000,
    intervalMs: intervalS * 1000,
    severity: m.severity,
    autoResolve: m.autoResolve === true,
  };
}
