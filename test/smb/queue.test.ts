import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueConnection, ReceivedReport } from '../../src/plugin/api.js';
import { type Smbd, startSmbd } from '../helpers/smbd.js';
import { action, filesIn, readText, type SmbWorld, smbWorld } from './smb-fixture.js';

/** The plugin against a real smbd (SMB 3, encryption and signing required) and the POSIX consumer. */
describe('the SMB queue, end to end', () => {
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

  const finished = (reports: ReceivedReport[], id: string) =>
    reports.map((r) => r.report).find((r) => r.kind === 'finished' && r.actionId === id);

  it('puts a signed job in queue/, the consumer runs it, fetch reads the result and ack deletes it', async () => {
    const job = action('echo hello from $(hostname); echo warn >&2; exit 3');
    const [outcome] = await queue.submit([job]);
    expect(outcome).toEqual({ actionId: job.actionId, accepted: true, receipt: `queue/${job.actionId}.job` });
    expect(await filesIn(path.join(smbd.shareDir, 'queue'))).toEqual([`${job.actionId}.job`]);

    expect((await world.consume()).exitCode).toBe(0);
    expect(await filesIn(path.join(smbd.shareDir, 'queue'))).toEqual([]);
    const reports = await queue.fetch({ max: 10, waitMs: 0 });
    expect(finished(reports, job.actionId)).toMatchObject({
      kind: 'finished',
      status: 'Failed',
      exitCode: 3,
      stdout: expect.stringMatching(/^hello from /),
      stderr: 'warn\n',
      stdoutDropped: 0,
    });
    const heartbeat = reports.map((r) => r.report).find((r) => r.kind === 'heartbeat');
    expect(heartbeat).toMatchObject({ detail: { device: 'web-01', consumer: 'sh' } });

    await queue.ack(reports);
    expect(await filesIn(path.join(smbd.shareDir, 'results'))).toEqual([]);
    expect(await queue.fetch({ max: 10, waitMs: 0 })).toEqual([]);
  }, 60_000);

  it('caps output at 256 KiB each and counts the rest', async () => {
    const job = action('head -c 300000 /dev/zero | tr "\\0" a');
    await queue.submit([job]);
    await world.consume();
    const reports = await queue.fetch({ max: 10, waitMs: 0 });
    const report = finished(reports, job.actionId);
    expect(report).toMatchObject({ status: 'Succeeded', stdoutDropped: 300000 - 262144 });
    expect(report?.kind === 'finished' && report.stdout?.length).toBe(262144);
    await queue.ack(reports);
  }, 60_000);

  it('withdraws a job the consumer has not taken, and answers too-late once it has', async () => {
    const waiting = action('echo never');
    const taken = action('echo taken');
    const outcomes = await queue.submit([waiting, taken]);
    const receipt = (i: number) => (outcomes[i]?.accepted ? outcomes[i].receipt : '');
    expect(await queue.cancel?.(waiting.actionId, receipt(0))).toBe('withdrawn');
    await world.consume();
    expect(await queue.cancel?.(taken.actionId, receipt(1))).toBe('too-late');
    const reports = await queue.fetch({ max: 10, waitMs: 0 });
    expect(finished(reports, waiting.actionId)).toBeUndefined();
    expect(finished(reports, taken.actionId)).toMatchObject({ status: 'Succeeded', stdout: 'taken\n' });
    await queue.ack(reports);
  }, 60_000);

  it('refuses a tampered job, a job signed with another key, an expired job and a replay: none runs', async () => {
    const marker = path.join(world.deviceState, 'ran.log');
    const run = (tag: string) => `echo ${tag} >> ${marker}`;
    const tampered = action(run('tampered'));
    const expired = action(run('expired'), { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const replayed = action(run('replayed'));
    await queue.submit([tampered, expired, replayed]);
    const jobPath = (id: string) => path.join(smbd.shareDir, 'queue', `${id}.job`);
    const replayCopy = await readFile(jobPath(replayed.actionId));

    // Tampered: the payload's command swapped for another, the signature kept.
    const envelope = JSON.parse(await readText(jobPath(tampered.actionId)));
    const payload = Buffer.from(envelope.payload, 'base64')
      .toString()
      .replace(/"commandBase64":"[^"]*"/, `"commandBase64":"${Buffer.from(run('evil')).toString('base64')}"`);
    envelope.payload = Buffer.from(payload).toString('base64');
    await writeFile(jobPath(tampered.actionId), `${JSON.stringify(envelope)}\n`);

    // Dropped by someone without the key: signed by another console's key.
    const stranger = await smbWorld(smbd);
    const strangerQueue = await stranger.open();
    const forged = action(run('forged'));
    await strangerQueue.submit([forged]);
    await strangerQueue.close();
    await stranger.remove();

    await world.consume();
    await writeFile(jobPath(replayed.actionId), replayCopy);
    await world.consume();

    const reports = await queue.fetch({ max: 20, waitMs: 0 });
    expect(finished(reports, tampered.actionId)).toMatchObject({
      status: 'Failed',
      error: 'refused: the signature does not verify (unsigned or tampered job)',
    });
    expect(finished(reports, forged.actionId)).toMatchObject({
      status: 'Failed',
      error: 'refused: the signature does not verify (unsigned or tampered job)',
    });
    expect(finished(reports, expired.actionId)).toMatchObject({
      status: 'Expired',
      error: 'refused: the job expired before it started',
    });
    // The first run's result is not replaced by the replay's refusal while it waits to be collected.
    expect(finished(reports, replayed.actionId)).toMatchObject({ status: 'Succeeded' });
    expect(await readText(marker)).toBe('replayed\n');
    await queue.ack(reports);

    // Replayed again once the result was collected: refused, said in a result, still not run.
    await writeFile(jobPath(replayed.actionId), replayCopy);
    await world.consume();
    const late = await queue.fetch({ max: 20, waitMs: 0 });
    expect(finished(late, replayed.actionId)).toMatchObject({
      status: 'Failed',
      error: 'refused: this job was executed already (a replay)',
    });
    expect(await readText(marker)).toBe('replayed\n');
    await queue.ack(late);
  }, 90_000);
});
