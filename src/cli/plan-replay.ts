import { Flags } from '@oclif/core';
import { durationSeconds } from '../duration.js';
import { RmmError } from '../errors.js';
import { quote } from '../quote.js';
import type { PlannedAgainst } from '../reconcile/plan.js';
import { seriesReader } from '../replay/covered-series.js';
import type { MonitorChanges } from '../replay/monitor-changes.js';
import { replayPlan } from '../replay/plan-replay.js';
import type { Db } from '../state/connection.js';
import type { ReplayView } from '../views/plan-replay.js';

/** rmm plan's replay flags (docs/monitoring.md#threshold-replay). */
export const DEFAULT_REPLAY = '7d';

export const replayFlags = {
  replay: Flags.string({
    summary: `Replay the stored samples of this long back (30m, 24h, 7d; default ${DEFAULT_REPLAY}) through each monitor the plan adds or changes.`,
    helpValue: 'DURATION',
  }),
  'no-replay': Flags.boolean({
    summary: 'Do not replay stored samples through the changed monitors.',
    exclusive: ['replay'],
  }),
};

/** The window [now - duration, now); a value that is not a duration is refused before anything is read. */
export function replayWindow(
  flag: string | undefined,
  now: number,
): { duration: string; since: number; until: number } {
  const duration = flag ?? DEFAULT_REPLAY;
  const seconds = durationSeconds(duration);
  if (seconds === undefined || seconds === 0)
    throw new RmmError(
      'usage',
      `--replay ${quote(duration)}: not a duration; give one such as 30m, 24h or 7d`,
    );
  return { duration, since: now - seconds * 1000, until: now };
}

/** The replay of a plan's changed monitors, or why it was not run; undefined with --no-replay. */
export function planReplayView(
  db: Db,
  planned: PlannedAgainst,
  changes: MonitorChanges,
  window: ReturnType<typeof replayWindow> | undefined,
): ReplayView | undefined {
  if (window === undefined) return undefined;
  const { duration } = window;
  // Metrics may not be in the form the replay reads until the pending steps ran.
  if (planned.migration.length > 0 && changes.monitors.length > 0)
    return { duration, skipped: 'schema-behind' };
  return { duration, result: replayPlan(seriesReader(db), changes.monitors, window) };
}
