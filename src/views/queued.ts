import { writeLines, writeStderr } from './output.js';

/** What `--at` prints: the queued rows, for rmm actions show/cancel. */
export function showQueued(
  ids: readonly string[],
  devices: readonly string[],
  utc: string,
  json: boolean,
): void {
  if (json) {
    writeLines([JSON.stringify({ type: 'queued', scheduledAt: utc, count: ids.length, ids })]);
    return;
  }
  writeStderr(
    `Queued ${ids.length} action${ids.length === 1 ? '' : 's'}, due ${utc} UTC (rmm actions run runs due actions):`,
  );
  writeLines(ids.map((id, i) => `${id}  ${devices[i]}`));
}
