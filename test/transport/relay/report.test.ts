import { describe, expect, it } from 'vitest';
import { parseReport } from '../../../plugins/relay/src/report.js';

/** A relay's reports are untrusted input: every bad one becomes `invalid` with a clear problem. */
const now = new Date('2026-12-03T10:00:00.000Z');
const ID = '2f1c0c9e-8a4b-4c59-9d2e-3b7a1e0f4c21';
const parse = (body: unknown) =>
  parseReport(typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body)), now);
const finished = {
  v: 1,
  kind: 'finished',
  actionId: ID,
  at: '2026-12-03T10:00:02.000Z',
  status: 'Failed',
  exitCode: 3,
  stdout: 'out',
  stderr: 'err',
  stdoutDropped: 10,
  stderrDropped: 0,
  error: 'exit 3',
  durationMs: 1200,
};

describe('relay reports', () => {
  it('reads the three kinds as the wire protocol writes them', () => {
    expect(parse({ v: 1, kind: 'started', actionId: ID, at: '2026-12-03T11:00:01+01:00' })).toEqual({
      kind: 'started',
      actionId: ID,
      at: '2026-12-03T10:00:01.000Z',
    });
    const { v: _v, ...report } = finished;
    expect(parse(finished)).toEqual(report);
    expect(
      parse({ v: 1, kind: 'finished', actionId: ID, at: finished.at, status: 'Expired', durationMs: 0 }),
    ).toEqual({ kind: 'finished', actionId: ID, at: finished.at, status: 'Expired', durationMs: 0 });
    expect(
      parse({
        v: 1,
        kind: 'heartbeat',
        at: finished.at,
        detail: { version: '0.1.0', running: 2, waiting: 5 },
      }),
    ).toEqual({ kind: 'heartbeat', at: finished.at, detail: { version: '0.1.0', running: 2, waiting: 5 } });
    expect(parse({ v: 1, kind: 'heartbeat', at: finished.at })).toEqual({
      kind: 'heartbeat',
      at: finished.at,
    });
  });

  const big = 'x'.repeat(256 * 1024 + 1);
  it.each([
    ['not JSON', '{"v":1,', 'the report is not JSON'],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1'), 'the report is not JSON'],
    ['an array', [1], 'the report must be a JSON object'],
    ['null', 'null', 'the report must be a JSON object'],
    ['another version', { ...finished, v: 2 }, 'v must be 1, not 2'],
    ['no version', { kind: 'started', actionId: ID, at: finished.at }, 'v must be 1, not missing'],
    [
      'an unknown kind',
      { v: 1, kind: 'progress' },
      'kind must be started, finished or heartbeat, not "progress"',
    ],
    ['an unknown key', { ...finished, secret: 'x' }, 'a finished report has an unknown key "secret"'],
    [
      'a key of another kind',
      { v: 1, kind: 'started', actionId: ID, at: finished.at, status: 'Failed' },
      'a started report has an unknown key "status"',
    ],
    [
      'an actionId that is no UUID',
      { ...finished, actionId: '../../etc' },
      'actionId must be a UUID, not "../../etc"',
    ],
    ['no actionId', { v: 1, kind: 'started', at: finished.at }, 'actionId must be a UUID, not missing'],
    [
      'a time that is not ISO',
      { ...finished, at: 'yesterday' },
      'at must be an ISO 8601 time, not "yesterday"',
    ],
    [
      'a date that does not exist',
      { ...finished, at: '2026-02-30T10:00:00Z' },
      'at must be an ISO 8601 time',
    ],
    [
      'an hour that does not exist',
      { ...finished, at: '2026-02-03T25:00:00Z' },
      'at must be an ISO 8601 time',
    ],
    [
      'an unknown status',
      { ...finished, status: 'Done' },
      'status must be one of Succeeded, Failed, TimedOut',
    ],
    ['a running status', { ...finished, status: 'Running' }, 'status must be one of'],
    ['a fractional exit code', { ...finished, exitCode: 1.5 }, 'exitCode must be an integer'],
    ['an exit code out of range', { ...finished, exitCode: 2 ** 33 }, 'exitCode must be an integer from'],
    ['a negative duration', { ...finished, durationMs: -1 }, 'durationMs must be an integer from 0'],
    [
      'no duration',
      { ...finished, durationMs: undefined },
      'durationMs must be an integer from 0 to 2678400000, not missing',
    ],
    [
      'a negative dropped count',
      { ...finished, stdoutDropped: -5 },
      'stdoutDropped must be an integer from 0',
    ],
    ['stdout over the cap', { ...finished, stdout: big }, 'stdout is 262145 bytes, over the cap of 262144'],
    ['stderr that is not text', { ...finished, stderr: 42 }, 'stderr must be a string'],
    ['an error text over its cap', { ...finished, error: 'e'.repeat(20_000) }, 'error is 20000 characters'],
    [
      'an unknown heartbeat detail',
      { v: 1, kind: 'heartbeat', at: finished.at, detail: { cpu: 3 } },
      'detail has an unknown key "cpu"',
    ],
    [
      'a heartbeat count out of range',
      { v: 1, kind: 'heartbeat', at: finished.at, detail: { running: -1 } },
      'detail.running must be an integer from 0',
    ],
  ])('refuses %s', (_what, body, problem) => {
    const report = parse(body);
    expect(report).toEqual({
      kind: 'invalid',
      at: now.toISOString(),
      problem: expect.stringContaining(problem),
    });
  });

  it('refuses invalid UTF-8 and a message over the results stream cap, without reading it', () => {
    expect(parseReport(new Uint8Array([0x7b, 0xff, 0x7d]), now)).toMatchObject({
      problem: 'the report is not UTF-8 text',
    });
    expect(parseReport(new Uint8Array(1_048_577), now)).toMatchObject({
      problem: 'the report is 1048577 bytes, over the cap of 1048576',
    });
  });

  it('never shows more than a short quote of what it refused', () => {
    const report = parse({ ...finished, status: 'S'.repeat(10_000) });
    expect(report.kind === 'invalid' && report.problem.length).toBeLessThan(200);
  });
});
