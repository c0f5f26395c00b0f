import { printable } from '../printable.js';
import type { Fired, MonitorReplay, PlanReplay } from '../replay/plan-replay.js';
import type { paint } from './color.js';

/**
 * The plan's threshold replay, for people and as JSON (docs/monitoring.md#threshold-replay): per
 * monitor added or changed, the alerts it would have fired over the window as planned, and as it
 * runs now on the same devices.
 */
export type ReplayView =
  | { duration: string; result: PlanReplay }
  /** Not run: the schema is behind (Metrics may not be in the form the replay reads yet). */
  | { duration: string; skipped: 'schema-behind' };

export function* replayLines(view: ReplayView, c: ReturnType<typeof paint>): Generator<string> {
  if ('skipped' in view) {
    yield '';
    yield c(
      'dim',
      'Replay skipped: the database schema is behind; rmm plan replays once rmm apply has migrated it.',
    );
    return;
  }
  const { result, duration } = view;
  if (result.monitors.length === 0) return;
  yield '';
  if (!result.samplesStored) {
    yield `Replay: no samples stored in the last ${duration}; nothing to replay (rmm serve stores them).`;
    return;
  }
  yield `Replay of the last ${duration} of stored samples (${result.samplesRead} read, from the series these monitors cover):`;
  for (const m of result.monitors) yield `  ${monitorLine(m, duration)}`;
}

function monitorLine(m: MonitorReplay, duration: string): string {
  const name = printable(`${m.policy}/${m.monitor}`) + (m.added ? ' (new)' : '');
  const now = m.now === null ? 'none' : `${m.now.alerts} on ${m.now.devices}`;
  return `${name}: would have fired ${firedText(m.planned)} over ${duration} (now: ${now})`;
}

function firedText(f: Fired): string {
  return `${f.alerts} alert${f.alerts === 1 ? '' : 's'} on ${f.devices} device${f.devices === 1 ? '' : 's'}`;
}

/** `replay` in `rmm plan --json`: null with --no-replay. */
export type ReplayJson =
  | null
  | { duration: string; skipped: 'schema-behind' }
  | {
      /** The window ends when the plan ran; its times are left out, so the same state gives the same JSON. */
      duration: string;
      /** False when Metrics holds no sample in the window: every count is then 0. */
      samplesStored: boolean;
      samplesRead: number;
      monitors: Array<{
        policy: string;
        monitor: string;
        added: boolean;
        /** Devices replayed: those where the plan adds or changes the monitor. */
        devices: number;
        wouldFire: Fired;
        /** As it runs now on those devices; null for a new monitor. */
        now: Fired | null;
      }>;
    };

export function replayJson(view: ReplayView | undefined): ReplayJson {
  if (view === undefined) return null;
  if ('skipped' in view) return view;
  const { result, duration } = view;
  return {
    duration,
    samplesStored: result.samplesStored,
    samplesRead: result.samplesRead,
    monitors: result.monitors.map((m) => ({
      policy: m.policy,
      monitor: m.monitor,
      added: m.added,
      devices: m.devices,
      wouldFire: m.planned,
      now: m.now,
    })),
  };
}
