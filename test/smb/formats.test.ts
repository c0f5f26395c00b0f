import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollment } from '../../plugins/smb/src/enrollment.js';
import { parseHeartbeat } from '../../plugins/smb/src/heartbeat-file.js';
import { jobFile, jobPayload } from '../../plugins/smb/src/job-file.js';
import { parseResultFile } from '../../plugins/smb/src/result-file.js';
import { loadSigningKey } from '../../plugins/smb/src/signing-key.js';
import type { QueuedAction } from '../../src/plugin/api.js';
import { findPowershell7Syntax, formatProblem, parsePowershell } from '../helpers/powershell-grammar.js';

/**
 * The formats both consumers read and write, pinned by the fixtures in test/fixtures/smb/. The POSIX
 * consumer runs in the end-to-end tests; PowerShell cannot run here, so its script is checked for
 * syntax (as Windows PowerShell 5.1 reads it) and for the exact patterns and keys of the formats.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/smb');
const CONSUMERS = path.resolve(import.meta.dirname, '../../plugins/smb/consumers');
const fixture = (name: string) => readFile(path.join(FIXTURES, name));
const NOW = new Date('2026-12-03T02:05:00Z');

describe('the SMB job and result formats', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-formats-'));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it('writes the payload byte for byte as the fixture (one key per line, the command in base64)', async () => {
    const action = JSON.parse(String(await fixture('action.json'))) as QueuedAction;
    const payload = jobPayload(action, new Date('2026-12-03T02:00:00.000Z'));
    expect(payload.toString()).toBe(String(await fixture('job-payload.txt')));
  });

  it("signs it so that openssl (the POSIX consumer's check) verifies it, and refuses it changed", async () => {
    const key = await loadSigningKey(stateDir);
    const action = JSON.parse(String(await fixture('action.json'))) as QueuedAction;
    const envelope = JSON.parse(jobFile(action, key, new Date('2026-12-03T02:00:00.000Z')).toString());
    await writeFile(path.join(stateDir, 'key.pem'), key.publicPem);
    await writeFile(path.join(stateDir, 'payload'), Buffer.from(envelope.payload, 'base64'));
    await writeFile(path.join(stateDir, 'signature'), Buffer.from(envelope.signature, 'base64'));
    const verify = () =>
      execa('openssl', ['dgst', '-sha256', '-verify', 'key.pem', '-signature', 'signature', 'payload'], {
        cwd: stateDir,
        reject: false,
      });
    expect((await verify()).exitCode).toBe(0);
    await writeFile(
      path.join(stateDir, 'payload'),
      String(await fixture('job-payload.txt')).replace('300', '301'),
    );
    expect((await verify()).exitCode).not.toBe(0);
  });

  it('keeps the key across opens and writes the private half 0600', async () => {
    const first = await loadSigningKey(stateDir);
    const again = await loadSigningKey(stateDir);
    expect(again.publicPem).toBe(first.publicPem);
    expect(first.publicXml).toMatch(
      /^<RSAKeyValue><Modulus>[A-Za-z0-9+/=]{512}<\/Modulus><Exponent>AQAB<\/Exponent><\/RSAKeyValue>$/,
    );
    const { mode } = await import('node:fs/promises').then((fs) =>
      fs.stat(path.join(stateDir, 'smb-signing-key.pem')),
    );
    expect(mode & 0o777).toBe(0o600);
  });

  it('reads the result fixtures both consumers write', async () => {
    const id = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b';
    expect(parseResultFile(`${id}.json`, await fixture('result-succeeded.json'), NOW)).toEqual({
      kind: 'finished',
      actionId: id,
      at: '2026-12-03T02:01:05Z',
      status: 'Succeeded',
      exitCode: 0,
      stdout: 'hello\n',
      stderr: '',
      stdoutDropped: 0,
      stderrDropped: 0,
      durationMs: 2000,
    });
    expect(parseResultFile(`${id}.json`, await fixture('result-refused.json'), NOW)).toMatchObject({
      kind: 'finished',
      status: 'Failed',
      error: 'refused: the signature does not verify (unsigned or tampered job)',
    });
    expect(parseHeartbeat(await fixture('heartbeat.json'), NOW)).toEqual({
      kind: 'heartbeat',
      at: '2026-12-03T02:01:00.000Z',
      detail: { device: 'web-01', consumer: 'ps1', version: '1' },
    });
  });

  it.each([
    [
      'an unknown key',
      '{"v":1,"actionId":"3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b","status":"Succeeded","at":"2026-12-03T02:01:05Z","durationMs":1,"x":1}',
      '/ must NOT have additional properties',
    ],
    [
      'an unknown status',
      '{"v":1,"actionId":"3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b","status":"Done","at":"2026-12-03T02:01:05Z","durationMs":1}',
      '/status must be equal to one of the allowed values',
    ],
    [
      'output that is not base64',
      '{"v":1,"actionId":"3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b","status":"Succeeded","stdoutBase64":"<>","at":"2026-12-03T02:01:05Z","durationMs":1}',
      '/stdoutBase64 must match pattern',
    ],
    [
      'a time that is not one',
      '{"v":1,"actionId":"3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b","status":"Succeeded","at":"yesterday","durationMs":1}',
      '/at must match pattern',
    ],
  ])('refuses a result with %s', (_, text, problem) => {
    const report = parseResultFile('3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b.json', Buffer.from(text), NOW);
    expect(report.kind).toBe('invalid');
    expect(report.kind === 'invalid' && report.problem).toContain(problem);
  });

  it('takes a heartbeat from the future as now', () => {
    const report = parseHeartbeat(
      Buffer.from('{"v":1,"at":"2030-01-01T00:00:00Z","device":"web-01","consumer":"sh","version":"1"}'),
      NOW,
    );
    expect(report).toMatchObject({ kind: 'heartbeat', at: NOW.toISOString() });
  });
});

describe('the PowerShell consumer (cannot run here)', () => {
  const script = () => readFile(path.join(CONSUMERS, 'rmm-smb-consumer.ps1'), 'utf8');

  it('parses as Windows PowerShell 5.1 reads it, alone and inside its installer', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-enroll-'));
    try {
      const installer = await enrollment({ name: 'win-01', host: '10.0.0.9', os: 'windows' }, { stateDir });
      for (const source of [await script(), installer.content]) {
        const { tree, errors } = parsePowershell(source);
        expect(errors.map(formatProblem)).toEqual([]);
        expect(findPowershell7Syntax(tree.rootNode).map(formatProblem)).toEqual([]);
        tree.delete();
      }
      expect(installer.content).toContain((await loadSigningKey(stateDir)).publicXml);
      expect(installer.fileName).toBe('rmm-smb-install-win-01.ps1');
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it("reads the envelope with a pattern that matches the console's job files", async () => {
    const pattern = /^\$Envelope = '(.*)'$/m.exec(await script())?.[1] as string;
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-env-'));
    try {
      const action = JSON.parse(String(await fixture('action.json'))) as QueuedAction;
      const job = jobFile(action, await loadSigningKey(stateDir), NOW).toString();
      const match = new RegExp(pattern).exec(job);
      expect(Buffer.from(match?.[1] as string, 'base64').toString()).toBe(jobPayload(action, NOW).toString());
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('writes exactly the keys of the result format, and reads the payload keys the console writes', async () => {
    const text = await script();
    const writing = text
      .split('\n')
      .filter((line) => !line.startsWith('$Envelope'))
      .join('\n');
    const written = [...writing.matchAll(/['{,]"(\w+)":/g)].map((m) => m[1]);
    expect(new Set(written)).toEqual(
      new Set([
        'v',
        'actionId',
        'status',
        'exitCode',
        'error',
        'stdoutBase64',
        'stdoutDropped',
        'stderrBase64',
        'stderrDropped',
        'at',
        'durationMs',
        'device',
        'consumer',
        'version',
      ]),
    );
    const payloadKeys = [...String(await fixture('job-payload.txt')).matchAll(/^"(\w+)":/gm)].map(
      (m) => m[1],
    );
    for (const key of [
      'v',
      'actionId',
      'device',
      'expiresEpoch',
      'timeoutSeconds',
      'powershell',
      'commandBase64',
    ])
      expect(payloadKeys).toContain(key);
    for (const key of ['actionId', 'device', 'expiresEpoch', 'timeoutSeconds', 'powershell', 'commandBase64'])
      expect(text).toContain(`$job.${key}`);
  });
});
