import { describe, expect, it } from 'vitest';
import { readable } from '../../src/cli/service-logger.js';

/** rmm serve's log on a terminal: pino's JSON line as one line for people. */
describe('readable', () => {
  it('shows time, level, message and fields; leaves pid and hostname out', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 1, 12, 34, 56),
      pid: 7,
      msg: 'action Failed',
      device: 'web-1',
      exitCode: 2,
      alert: { device: 'web-1' },
    });
    expect(readable(line)).toBe(
      '12:34:56 WARN action Failed device=web-1 exitCode=2 alert={"device":"web-1"}\n',
    );
  });

  it('passes a line that is not JSON through', () => {
    expect(readable('plain\n')).toBe('plain\n');
  });
});
