import { randomUUID } from 'node:crypto';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueueConnection, TransportError } from '../../src/plugin/api.js';
import { type Smbd, startSmbd } from '../helpers/smbd.js';
import { waitFor } from '../helpers/wait.js';
import { action, CONSUMER, DEVICE, filesIn, readText, type SmbWorld, smbWorld } from './smb-fixture.js';

describe('the SMB queue under faults and hostile input', () => {
  let smbd: Smbd;
  let world: SmbWorld;
  let queue: QueueConnection;
  beforeAll(async () => {
    smbd = await startSmbd();
    world = await smbWorld(smbd);
    queue = await world.open();
  }, 30_000);
  afterAll(async () => {
    await queue?.close();
    await world?.remove();
    await smbd?.remove();
  });
  const results = (name: string) => path.join(smbd.shareDir, 'results', name);

  it('never runs a job twice when the consumer is killed mid-job: the next run reports it', async () => {
    const marker = path.join(world.deviceState, 'killed.log');
    const job = action(`echo ran >> ${marker}; sleep 20`);
    await queue.submit([job]);
    // The whole process group, as a stopped cron job or a reboot would end it.
    const consumer = execa(
      'sh',
      [
        CONSUMER,
        '--share',
        smbd.shareDir,
        '--state',
        world.deviceState,
        '--device',
        DEVICE,
        '--key',
        world.keyFile,
      ],
      { detached: true, reject: false },
    );
    await waitFor('the job to start', async () => ((await readText(marker)) === 'ran\n' ? true : undefined));
    process.kill(-(consumer.pid as number), 'SIGKILL');
    await consumer;

    await world.consume();
    const copy = path.join(smbd.shareDir, 'queue', `${job.actionId}.job`);
    const reports = await queue.fetch({ max: 10, waitMs: 0 });
    const report = reports
      .map((r) => r.report)
      .find((r) => r.kind === 'finished' && r.actionId === job.actionId);
    expect(report).toMatchObject({
      status: 'Failed',
      error: 'the consumer stopped while this ran; it may or may not have completed',
    });
    expect(report).not.toHaveProperty('exitCode');
    await queue.ack(reports);
    // Submitted again (the core's retry after a crash): refused, not run.
    await queue.submit([job]);
    await world.consume();
    expect(await filesIn(path.dirname(copy))).toEqual([]);
    expect(await readText(marker)).toBe('ran\n');
    await queue.ack(await queue.fetch({ max: 10, waitMs: 0 }));
  }, 60_000);

  it('refuses hostile result files: 100 MB (never downloaded), binary, a wrong name, an ActionId that is not its name', async () => {
    const big = randomUUID();
    await writeFile(results(`${big}.json`), '');
    await truncate(results(`${big}.json`), 100 * 1024 * 1024);
    const binary = randomUUID();
    await writeFile(results(`${binary}.json`), Buffer.from([0xff, 0xfe, 0, 1, 2, 0x80]));
    const named = randomUUID();
    await writeFile(
      results(`${named}.json`),
      JSON.stringify({
        v: 1,
        actionId: randomUUID(),
        status: 'Succeeded',
        at: '2026-12-03T00:00:00Z',
        durationMs: 1,
      }),
    );
    await writeFile(results('..\\..\\x.json'), '{}');
    await writeFile(results('x.json'), '{}');
    const before = await readdir(os.tmpdir());

    const reports = await queue.fetch({ max: 20, waitMs: 0 });
    const problems = reports
      .map((r) => (r.report.kind === 'invalid' ? r.report.problem : r.report.kind))
      .sort();
    // Samba shows the backslashed name mangled (`_BSXOS~L`): not a result name either way.
    expect(problems).toHaveLength(5);
    expect(problems).toEqual(
      expect.arrayContaining([
        `results/${big}.json is 104857600 bytes, over 1048576: not downloaded`,
        `result file ${binary}.json: not UTF-8 JSON`,
        `result file ${named}.json: names another ActionId inside`,
        expect.stringMatching(/^results\/"[^"]+" is not named <ActionId>\.json: not read$/),
        'results/"x.json" is not named <ActionId>.json: not read',
      ]),
    );
    expect(reports.some((r) => r.report.kind === 'finished')).toBe(false);
    // Nothing was written outside the queue's own temp folders (removed again).
    expect(await readdir(os.tmpdir())).toEqual(before);
    await queue.ack(reports);
    // The safely named ones are deleted by the ack; the backslashed name is left for the admin, and
    // reported once per connection.
    expect(await filesIn(path.join(smbd.shareDir, 'results'))).toEqual(['..\\..\\x.json']);
    expect(await queue.fetch({ max: 20, waitMs: 0 })).toEqual([]);
  }, 60_000);

  it('fails with a retryable unreachable error while smbd is down, and submits again once it is back', async () => {
    await smbd.stop();
    const job = action('echo later');
    const error = await queue.submit([job]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ code: 'unreachable', retryable: true });
    expect((error as Error).message).toMatch(
      /^\/\/127\.0\.0\.1\/rmm\$ \(port \d+\): cannot connect \(NT_STATUS_CONNECTION_REFUSED\)$/,
    );
    await smbd.start();
    const [outcome] = await queue.submit([job]);
    expect(outcome).toMatchObject({ accepted: true });
    expect(await queue.cancel?.(job.actionId, `queue/${job.actionId}.job`)).toBe('withdrawn');
  }, 60_000);

  it('says a wrong password is refused, and the password is in no ps line, environment, message or log', async () => {
    const wrong = `Wrong-${randomUUID()}`;
    const bad = await world.open({ password: wrong });
    const seen: string[] = [];
    let done = false;
    const watcher = (async () => {
      // Bounded: at most 2,000 looks while smbclient runs.
      for (let i = 0; i < 2000 && !done; i++) {
        const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
        for (const line of String(ps.stdout)
          .split('\n')
          .filter((l) => l.includes('smbclient'))) {
          seen.push(line);
          const pid = line.trim().split(/\s+/)[0];
          seen.push(await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => ''));
        }
      }
    })();
    const errors: unknown[] = [];
    // Several attempts, so the watcher catches smbclient running at least once.
    for (let i = 0; i < 20 && !seen.some((l) => l.includes('smbclient')); i++)
      errors.push(await bad.submit([action('echo no')]).catch((e: unknown) => e));
    done = true;
    await watcher;
    expect(seen.some((l) => l.includes('smbclient'))).toBe(true);
    expect(seen.join('\n')).not.toContain(wrong);
    expect(errors[0]).toMatchObject({ code: 'auth-failed' });
    expect((errors[0] as Error).message).toBe(
      `//127.0.0.1/rmm$ (port ${smbd.port}): the share refused the user name or password (NT_STATUS_LOGON_FAILURE)`,
    );
    for (const error of errors)
      expect(JSON.stringify({ m: (error as Error).message, s: (error as Error).stack })).not.toContain(wrong);
    expect(await readText(smbd.logPath)).not.toContain(wrong);
    // The authentication files are gone.
    expect((await readdir(os.tmpdir())).filter((name) => name.startsWith('rmm-smb-auth-'))).toEqual([]);
    await bad.close();
  }, 60_000);
});
