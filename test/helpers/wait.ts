import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `check` returns a value other than undefined, bounded in time and in tries. Throws
 * naming `what` when the bound is reached, so a hung test fails with a reason instead of a timeout.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  const tries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < tries && Date.now() <= deadline; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(intervalMs);
  }
  throw new Error(`waited ${timeoutMs} ms for ${what}`);
}
