import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';
import { waitFor } from '../helpers/wait.js';
import { actionIdOf, type SmbCli, smbCli } from './smb-cli-fixture.js';

/**
 * An SMB device through the real CLI (docs/smb.md, "End to end"): rmm exec, the POSIX consumer run
 * once as cron would, rmm actions collect / list / show / cancel, inventory, expiry, the heartbeat,
 * rmm serve --once, a result nobody queued. The faults are in smb-e2e-faults.test.ts.
 */
let w: SmbCli;
beforeAll(async () => {
  w = await smbCli();
}, 120_000);
afterAll(() => w?.remove());

describe('an SMB device through the CLI', () => {
  it('rmm exec --wait 0s delivers (exit 75); the consumer runs it; rmm actions collect ends it Succeeded', async () => {
    const exec = await w.rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', 'hi');
    expect(exec.exitCode, exec.stderr).toBe(75);
    const id = actionIdOf(exec.stdout);
    expect(w.row(id)?.Status).toBe('Delivered');
    expect(await readdir(path.join(w.smbd.shareDir, 'queue'))).toEqual([`${id}.job`]);

    await w.consume();
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stdout).toContain(`${id} file-01: Succeeded (exit 0)`);
    const done = w.row(id);
    expect(done?.Status).toBe('Succeeded');
    expect(JSON.parse(done?.Result ?? '{}')).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
    const audit = queryFile<{ Action: string; Success: number; Details: string }>(
      w.db(),
      `SELECT Action, Success, Details FROM AuditLog WHERE Details LIKE '%${id}%'`,
    );
    expect(audit).toEqual([expect.objectContaining({ Action: 'action.exec Device/file-01', Success: 1 })]);
    expect(JSON.parse(audit[0]?.Details ?? '{}')).toMatchObject({ via: 'smb/file-01', exitCode: 0 });
    expect(await readdir(path.join(w.smbd.shareDir, 'results'))).toEqual([]);

    const shown = await w.rmm('actions', 'show', id);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('Succeeded');
    expect(shown.stdout).toContain('hi');
    const listed = await w.rmm('actions', 'list', '--json');
    expect(listed.stdout).toContain(id);
  }, 120_000);

  it('rmm exec --wait 60s ends in the same command once the consumer has run the job', async () => {
    const exec = spawnCli(['exec', '--json', '--wait', '60s', '-t', 'name=file-01', '--', 'echo', 'waited'], {
      cwd: w.cwd,
      env: w.env(),
    });
    await waitFor(
      'the job on the share',
      async () => ((await w.jobsOnShare()).length > 0 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    await w.consume();
    const done = await exec;
    expect(done.exitCode, done.stderr).toBe(0);
    const id = actionIdOf(done.stdout);
    expect(w.row(id)?.Status).toBe('Succeeded');
    expect(JSON.parse(w.row(id)?.Result ?? '{}')).toMatchObject({ exitCode: 0, stdout: 'waited\n' });
  }, 120_000);

  it('the heartbeat the consumer rewrites gives the device its LastSeen and Status Online', async () => {
    execFile(w.db(), "UPDATE Devices SET LastSeen = NULL, Status = NULL WHERE DeviceId = 'file-01'");
    const before = new Date(Date.now() - 1000).toISOString().slice(0, 19).replace('T', ' ');
    await w.consume();
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    const seen = queryFile<{ LastSeen: string | null; Status: string | null }>(
      w.db(),
      "SELECT LastSeen, Status FROM Devices WHERE DeviceId = 'file-01'",
    )[0];
    expect(seen?.Status).toBe('Online');
    expect((seen?.LastSeen ?? '') >= before, `${seen?.LastSeen} >= ${before}`).toBe(true);
  }, 120_000);

  it("a heartbeat left by a consumer that stopped long ago: the device's LastSeen is its time, and the route is not connected", async () => {
    const stoppedAt = new Date(Date.now() - 10 * 60_000);
    execFile(w.db(), "UPDATE Devices SET LastSeen = NULL, Status = NULL WHERE DeviceId = 'file-01'");
    execFile(w.db(), 'DELETE FROM QueueRoutes');
    await writeFile(
      path.join(w.smbd.shareDir, 'heartbeat'),
      JSON.stringify({ v: 1, at: stoppedAt.toISOString(), device: 'file-01', consumer: 'sh', version: '1' }),
    );
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    const seen = queryFile<{ LastSeen: string | null }>(
      w.db(),
      "SELECT LastSeen FROM Devices WHERE DeviceId = 'file-01'",
    )[0];
    expect(seen?.LastSeen).toBe(stoppedAt.toISOString().slice(0, 19).replace('T', ' '));
    const status = JSON.parse((await w.rmm('status', '--json')).stdout);
    expect(status.relays).toEqual([]);
    expect(status.deviceQueues).toEqual([
      expect.objectContaining({ transport: 'smb', devices: 1, connected: 0, notSeen: ['file-01'] }),
    ]);
  }, 120_000);

  it('rmm serve --once: the heartbeat keeps the device Online; no monitoring connection marks it Offline', async () => {
    await w.consume();
    const served = await w.rmm('serve', '--once');
    expect(served.exitCode, served.stderr).toBe(0);
    const seen = queryFile<{ Status: string | null }>(
      w.db(),
      "SELECT Status FROM Devices WHERE DeviceId = 'file-01'",
    )[0];
    expect(seen?.Status, served.stderr + served.stdout).toBe('Online');
    // The monitoring cycle leaves it out: a connection would fail (smb has no sessions) and count it
    // unreachable, and in 5 minutes raise its device-offline alert.
    const log = served.stdout + served.stderr;
    expect(log).toContain('collected 1 reports from queued transports');
    expect(log).not.toMatch(/"unreachable":[1-9]/);
    expect(queryFile(w.db(), "SELECT 1 FROM Metrics WHERE DeviceId = 'file-01'")).toEqual([]);
  }, 120_000);

  it('rmm inventory collect through the share: the collector runs on the device, collect stores it', async () => {
    const started = await w.rmm('inventory', 'collect', '--json', '-t', 'name=file-01');
    expect(started.exitCode, started.stderr).toBe(75);
    const id = actionIdOf(started.stdout);
    await w.consume();
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(w.row(id)?.Status, w.row(id)?.Result ?? '').toBe('Succeeded');
    const categories = queryFile<{ n: number }>(
      w.db(),
      "SELECT count(*) AS n FROM Inventory WHERE DeviceId = 'file-01'",
    )[0];
    expect(categories?.n).toBeGreaterThan(0);
    const shown = await w.rmm('inventory', 'show', 'file-01');
    expect(shown.exitCode, shown.stderr).toBe(0);
  }, 180_000);

  it('an expired job is removed from the share and its row ends Expired', async () => {
    const exec = await w.rmm(
      'exec',
      '--json',
      '--wait',
      '0s',
      '--expire',
      '1m',
      '-t',
      'name=file-01',
      '--',
      'echo',
      'late',
    );
    expect(exec.exitCode, exec.stderr).toBe(75);
    const id = actionIdOf(exec.stdout);
    expect(await w.jobsOnShare()).toEqual([`${id}.job`]);
    // Time is an input: the delivery's deadline is moved past the 5 minutes' grace.
    execFile(
      w.db(),
      `UPDATE ActionDeliveries SET ExpiresAt = '${new Date(Date.now() - 6 * 60_000).toISOString()}' WHERE ActionId = '${id}'`,
    );
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stdout).toContain('expired 1');
    expect(w.row(id)?.Status).toBe('Expired');
    expect(await w.jobsOnShare()).toEqual([]);
  }, 120_000);

  it('a result for an ActionId the console never queued is refused, audited and removed', async () => {
    const stranger = randomUUID();
    await mkdir(path.join(w.smbd.shareDir, 'results'), { recursive: true });
    await writeFile(
      path.join(w.smbd.shareDir, 'results', `${stranger}.json`),
      JSON.stringify({
        v: 1,
        actionId: stranger,
        status: 'Succeeded',
        exitCode: 0,
        stdoutBase64: '',
        stdoutDropped: 0,
        stderrBase64: '',
        stderrDropped: 0,
        at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        durationMs: 1,
      }),
    );
    const collected = await w.rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stderr).toContain(
      `smb/file-01: refused a finished report about ${stranger}, an action never delivered to it`,
    );
    const audit = queryFile<{ Action: string; Success: number }>(
      w.db(),
      `SELECT Action, Success FROM AuditLog WHERE Details LIKE '%${stranger}%'`,
    );
    expect(audit).toEqual([{ Action: 'queue.report-refused smb/file-01', Success: 0 }]);
    expect(queryFile(w.db(), `SELECT 1 FROM Actions WHERE ActionId = '${stranger}'`)).toEqual([]);
    expect(await readdir(path.join(w.smbd.shareDir, 'results'))).toEqual([]);
  }, 120_000);

  it('rmm actions cancel of a Delivered job withdraws it from the share: Cancelled, never run', async () => {
    const exec = await w.rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', 'never');
    expect(exec.exitCode, exec.stderr).toBe(75);
    const id = actionIdOf(exec.stdout);
    const cancelled = await w.rmm('actions', 'cancel', id);
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    expect(w.row(id)?.Status).toBe('Cancelled');
    expect(await w.jobsOnShare()).toEqual([]);
    await w.consume();
    await w.rmm('actions', 'collect');
    expect(w.row(id)?.Status).toBe('Cancelled');
    expect(await readdir(path.join(w.smbd.shareDir, 'results'))).toEqual([]);
  }, 120_000);
});
