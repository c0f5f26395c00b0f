import { randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { type Smbd, startSmbd } from '../helpers/smbd.js';
import { execFile, queryFile } from '../helpers/sqlite.js';
import { waitFor } from '../helpers/wait.js';

/**
 * An SMB device through the real CLI (docs/smb.md, "End to end"): rmm apply, rmm smb enroll
 * installing the consumer on the folder the test smbd shares (the device's side), rmm exec, the POSIX
 * consumer run once as cron would, rmm actions collect, the row and its AuditLog row.
 */
let smbd: Smbd;
let cwd: string;
let lib: string;
let state: string;
const env = () => ({ RMM_SMB_PASSWORD: smbd.password });
const rmm = (...args: string[]) => runCli(args, { cwd, env: env() });
const db = () => path.join(cwd, 'data', 'devices.db');
const row = (id: string) =>
  queryFile<{ Status: string; Result: string | null; DeviceId: string }>(
    db(),
    `SELECT Status, Result, DeviceId FROM Actions WHERE ActionId = '${id}'`,
  )[0];
const device = (name: string, transport: string) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: linux\n  transport: {${transport}}\n`;

/** Runs the installed consumer once on the share's folder, as the device's cron would. */
async function consume(): Promise<void> {
  const run = await execa(
    'sh',
    [
      path.join(lib, 'rmm-smb-consumer.sh'),
      ...['--share', smbd.shareDir, '--state', state, '--device', 'file-01'],
      ...['--key', path.join(lib, 'console-key.pem')],
    ],
    { reject: false, timeout: 120_000 },
  );
  expect(run.exitCode, run.stderr).toBe(0);
}

/** The ActionId `rmm exec --json` printed for its one device. */
function actionIdOf(stdout: string): string {
  const ids = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { id?: string; actionId?: string })
    .map((o) => o.actionId ?? o.id)
    .filter((id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id));
  expect(ids.length, stdout).toBeGreaterThan(0);
  return ids[0] as string;
}

beforeAll(async () => {
  smbd = await startSmbd();
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-e2e-'));
  lib = path.join(cwd, 'device', 'lib');
  state = path.join(cwd, 'device', 'state');
  await writeFile(
    path.join(cwd, 'devices.yaml'),
    device(
      'file-01',
      `type: smb, user: ${smbd.user}, credentialRef: "env:RMM_SMB_PASSWORD", port: ${smbd.port}`,
    ),
  );
  expect((await rmm('init')).exitCode).toBe(0);
  const applied = await rmm('apply', '-f', 'devices.yaml', '--auto-approve');
  expect(applied.exitCode, applied.stderr).toBe(0);
  const enrolled = await rmm('smb', 'enroll', 'file-01', '--out', path.join(cwd, 'install.sh'));
  expect(enrolled.exitCode, enrolled.stderr).toBe(0);
  const installed = await execa('sh', [path.join(cwd, 'install.sh')], {
    env: {
      RMM_SMB_SHARE_DIR: smbd.shareDir,
      RMM_SMB_STATE_DIR: state,
      RMM_SMB_LIB_DIR: lib,
      RMM_SMB_SCHEDULE: 'none',
    },
    reject: false,
  });
  expect(installed.exitCode, installed.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await smbd?.remove();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('an SMB device through the CLI', () => {
  it('rmm exec --wait 0s delivers (exit 75); the consumer runs it; rmm actions collect ends it Succeeded', async () => {
    const exec = await rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', 'hi');
    expect(exec.exitCode, exec.stderr).toBe(75);
    const id = actionIdOf(exec.stdout);
    expect(row(id)?.Status).toBe('Delivered');
    expect(await readdir(path.join(smbd.shareDir, 'queue'))).toEqual([`${id}.job`]);

    await consume();
    const collected = await rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stdout).toContain(`${id} file-01: Succeeded (exit 0)`);
    const done = row(id);
    expect(done?.Status).toBe('Succeeded');
    expect(JSON.parse(done?.Result ?? '{}')).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
    const audit = queryFile<{ Action: string; Success: number; Details: string }>(
      db(),
      `SELECT Action, Success, Details FROM AuditLog WHERE Details LIKE '%${id}%'`,
    );
    expect(audit).toEqual([expect.objectContaining({ Action: 'action.exec Device/file-01', Success: 1 })]);
    expect(JSON.parse(audit[0]?.Details ?? '{}')).toMatchObject({ via: 'smb/file-01', exitCode: 0 });
    expect(await readdir(path.join(smbd.shareDir, 'results'))).toEqual([]);

    const shown = await rmm('actions', 'show', id);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('Succeeded');
    expect(shown.stdout).toContain('hi');
    const listed = await rmm('actions', 'list', '--json');
    expect(listed.stdout).toContain(id);
  }, 120_000);

  it('rmm exec --wait 60s ends in the same command once the consumer has run the job', async () => {
    const exec = spawnCli(['exec', '--json', '--wait', '60s', '-t', 'name=file-01', '--', 'echo', 'waited'], {
      cwd,
      env: env(),
    });
    await waitFor('the job on the share', async () => ((await jobsOnShare()).length > 0 ? true : undefined), {
      timeoutMs: 60_000,
    });
    await consume();
    const done = await exec;
    expect(done.exitCode, done.stderr).toBe(0);
    const id = actionIdOf(done.stdout);
    expect(row(id)?.Status).toBe('Succeeded');
    expect(JSON.parse(row(id)?.Result ?? '{}')).toMatchObject({ exitCode: 0, stdout: 'waited\n' });
  }, 120_000);

  it('the heartbeat the consumer rewrites gives the device its LastSeen and Status Online', async () => {
    execFile(db(), "UPDATE Devices SET LastSeen = NULL, Status = NULL WHERE DeviceId = 'file-01'");
    const before = new Date(Date.now() - 1000).toISOString().slice(0, 19).replace('T', ' ');
    await consume();
    const collected = await rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    const seen = queryFile<{ LastSeen: string | null; Status: string | null }>(
      db(),
      "SELECT LastSeen, Status FROM Devices WHERE DeviceId = 'file-01'",
    )[0];
    expect(seen?.Status).toBe('Online');
    expect((seen?.LastSeen ?? '') >= before, `${seen?.LastSeen} >= ${before}`).toBe(true);
  }, 120_000);

  it('rmm serve --once: the heartbeat keeps the device Online; no monitoring connection marks it Offline', async () => {
    await consume();
    const served = await rmm('serve', '--once');
    expect(served.exitCode, served.stderr).toBe(0);
    const seen = queryFile<{ Status: string | null }>(
      db(),
      "SELECT Status FROM Devices WHERE DeviceId = 'file-01'",
    )[0];
    expect(seen?.Status, served.stderr + served.stdout).toBe('Online');
    // The monitoring cycle leaves it out: a connection would fail (smb has no sessions) and count it
    // unreachable, and in 5 minutes raise its device-offline alert.
    const log = served.stdout + served.stderr;
    expect(log).toContain('collected 1 reports from queued transports');
    expect(log).not.toMatch(/"unreachable":[1-9]/);
    expect(queryFile(db(), "SELECT 1 FROM Metrics WHERE DeviceId = 'file-01'")).toEqual([]);
  }, 120_000);

  it('rmm inventory collect through the share: the collector runs on the device, collect stores it', async () => {
    const started = await rmm('inventory', 'collect', '--json', '-t', 'name=file-01');
    expect(started.exitCode, started.stderr).toBe(75);
    const id = actionIdOf(started.stdout);
    await consume();
    const collected = await rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(row(id)?.Status, row(id)?.Result ?? '').toBe('Succeeded');
    const categories = queryFile<{ n: number }>(
      db(),
      "SELECT count(*) AS n FROM Inventory WHERE DeviceId = 'file-01'",
    )[0];
    expect(categories?.n).toBeGreaterThan(0);
    const shown = await rmm('inventory', 'show', 'file-01');
    expect(shown.exitCode, shown.stderr).toBe(0);
  }, 180_000);

  it('an expired job is removed from the share and its row ends Expired', async () => {
    const exec = await rmm(
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
    expect(await jobsOnShare()).toEqual([`${id}.job`]);
    // Time is an input: the delivery's deadline is moved past the 5 minutes' grace.
    execFile(
      db(),
      `UPDATE ActionDeliveries SET ExpiresAt = '${new Date(Date.now() - 6 * 60_000).toISOString()}' WHERE ActionId = '${id}'`,
    );
    const collected = await rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stdout).toContain('expired 1');
    expect(row(id)?.Status).toBe('Expired');
    expect(await jobsOnShare()).toEqual([]);
  }, 120_000);

  it('smbd down: the row stays Pending with its intent, and is submitted once the share is back', async () => {
    await smbd.stop();
    let id: string;
    try {
      const exec = await rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', 'back');
      expect(exec.exitCode, exec.stderr).toBe(75);
      expect(exec.stderr).toContain('smb/file-01: submit failed: //127.0.0.1/rmm$ (port ');
      expect(exec.stderr).toContain('cannot connect (NT_STATUS_CONNECTION_REFUSED)');
      expect(exec.stderr).toContain('1 action(s) stay Pending');
      id = actionIdOf(exec.stdout);
      expect(exec.stdout).toContain(
        `"type":"queued-at-end","id":"${id}","device":"file-01","status":"Pending"`,
      );
      expect(row(id)?.Status).toBe('Pending');
      const intent = queryFile<{ Route: string }>(
        db(),
        `SELECT Route FROM ActionDeliveries WHERE ActionId = '${id}'`,
      );
      expect(intent).toEqual([{ Route: 'file-01' }]);
      const stillDown = await rmm('actions', 'collect');
      expect(stillDown.exitCode).toBe(0);
      expect(stillDown.stdout).toContain('submitted again 0');
      expect(row(id)?.Status).toBe('Pending');
    } finally {
      await smbd.start();
    }
    const again = await rmm('actions', 'collect');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('submitted again 1');
    expect(row(id)?.Status).toBe('Delivered');
    await consume();
    await rmm('actions', 'collect');
    expect(row(id)?.Status).toBe('Succeeded');
  }, 180_000);

  it('a result for an ActionId the console never queued is refused, audited and removed', async () => {
    const stranger = randomUUID();
    await mkdir(path.join(smbd.shareDir, 'results'), { recursive: true });
    await writeFile(
      path.join(smbd.shareDir, 'results', `${stranger}.json`),
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
    const collected = await rmm('actions', 'collect');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(collected.stderr).toContain(
      `smb/file-01: refused a finished report about ${stranger}, an action never delivered to it`,
    );
    const audit = queryFile<{ Action: string; Success: number }>(
      db(),
      `SELECT Action, Success FROM AuditLog WHERE Details LIKE '%${stranger}%'`,
    );
    expect(audit).toEqual([{ Action: 'queue.report-refused smb/file-01', Success: 0 }]);
    expect(queryFile(db(), `SELECT 1 FROM Actions WHERE ActionId = '${stranger}'`)).toEqual([]);
    expect(await readdir(path.join(smbd.shareDir, 'results'))).toEqual([]);
  }, 120_000);

  it('rmm actions collect SIGKILLed between applying results and deleting them: the next collect applies none twice', async () => {
    const ids: string[] = [];
    for (const word of ['one', 'two']) {
      const exec = await rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', word);
      expect(exec.exitCode, exec.stderr).toBe(75);
      ids.push(actionIdOf(exec.stdout));
    }
    await consume();
    expect((await readdir(path.join(smbd.shareDir, 'results'))).sort()).toEqual(
      ids.map((id) => `${id}.json`).sort(),
    );
    // Fault injection: an smbclient that passes everything to the real one but hangs on the ack (del),
    // so the collector is killed after its commit and before the share forgets the results.
    const wrap = path.join(cwd, 'wrap');
    const marker = path.join(wrap, 'ack-reached');
    await mkdir(wrap, { recursive: true });
    const real = (await execa('sh', ['-c', 'command -v smbclient'])).stdout.trim();
    await writeFile(
      path.join(wrap, 'smbclient'),
      [
        '#!/bin/sh',
        'auth=; prev=; for a in "$@"; do [ "$prev" = --authentication-file ] && auth=$a; prev=$a; done',
        'input=$(cat)',
        // It reads its credential first, as smbclient does, then hangs.
        `case "$input" in *"del results/"*) cat "$auth" > /dev/null; echo "$$ $auth" > ${marker}; exec sleep 600 ;; esac`,
        `printf '%s\\n' "$input" | exec ${real} "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const collect = spawnCli(['actions', 'collect'], {
      cwd,
      env: { ...env(), PATH: `${wrap}:${process.env.PATH}` },
    });
    const hung = await waitFor(
      'the ack to reach smbclient',
      async () => (await readFile(marker, 'utf8').catch(() => '')).trim() || undefined,
      { timeoutMs: 60_000 },
    );
    expect(ids.map((id) => row(id)?.Status)).toEqual(['Succeeded', 'Succeeded']);
    const [sleeper, authFile] = hung.split(' ') as [string, string];
    process.kill(collect.pid as number, 'SIGKILL');
    process.kill(Number(sleeper), 'SIGKILL');
    expect((await collect).signal).toBe('SIGKILL');
    // The killed console could not remove its authentication folder: it holds an empty FIFO, never
    // a file with the password.
    expect(await readdir(path.dirname(authFile))).toEqual(['auth']);
    expect((await lstat(authFile)).isFIFO()).toBe(true);
    await rm(path.dirname(authFile), { recursive: true, force: true });
    expect((await readdir(path.join(smbd.shareDir, 'results'))).length).toBe(2);
    const owed = () =>
      queryFile<{ AckOwed: number }>(
        db(),
        "SELECT AckOwed FROM QueueRoutes WHERE Transport = 'smb' AND Route = 'file-01'",
      )[0]?.AckOwed;
    expect(owed()).toBe(1);
    const results = ids.map((id) => row(id)?.Result);

    const again = await rmm('actions', 'collect');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('Succeeded');
    expect(ids.map((id) => row(id)?.Result)).toEqual(results);
    for (const id of ids) {
      const audit = queryFile<{ Action: string }>(
        db(),
        `SELECT Action FROM AuditLog WHERE Details LIKE '%${id}%' ORDER BY rowid`,
      );
      // Applied once; the second reading of the same result is only recorded as refused (ended).
      expect(audit.map((a) => a.Action)).toEqual([
        'action.exec Device/file-01',
        'queue.report-refused smb/file-01',
      ]);
    }
    expect(await readdir(path.join(smbd.shareDir, 'results'))).toEqual([]);
    expect(owed()).toBe(0);
  }, 180_000);

  it('a wrong password: a clear message, the row stays Pending, and the password is nowhere', async () => {
    const wrong = 'Wrong-Pa55word-e2e';
    await writeFile(
      path.join(cwd, 'devices.yaml'),
      [
        device(
          'file-01',
          `type: smb, user: ${smbd.user}, credentialRef: "env:RMM_SMB_PASSWORD", port: ${smbd.port}`,
        ),
        device(
          'file-02',
          `type: smb, user: ${smbd.user}, credentialRef: "env:RMM_SMB_WRONG", port: ${smbd.port}`,
        ),
      ].join('---\n'),
    );
    const applied = await rmm('apply', '-f', 'devices.yaml', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const exec = spawnCli(['exec', '--json', '--wait', '0s', '-t', 'name=file-02', '--', 'echo', 'x'], {
      cwd,
      env: { ...env(), RMM_SMB_WRONG: wrong },
    });
    // What anyone on the console could read while it ran: every process's arguments, and
    // smbclient's environment.
    let ended = false;
    void exec.then(() => {
      ended = true;
    });
    let sawSmbclient = 0;
    for (let i = 0; i < 2000 && !ended; i++) {
      const ps = await execa('ps', ['-eo', 'pid=,args='], { reject: false });
      expect(ps.stdout).not.toContain(wrong);
      for (const line of ps.stdout
        .split('\n')
        .filter((l) => /\bsmbclient\b/.test(l) && !l.includes('ps -eo'))) {
        sawSmbclient++;
        const pid = line.trim().split(/\s+/)[0];
        const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
        expect(environ).not.toContain(wrong);
      }
    }
    const done = await exec;
    expect(done.exitCode, done.stderr).toBe(75);
    expect(done.stderr).toContain('smb/file-02: submit failed:');
    expect(done.stderr).toContain('the share refused the user name or password');
    expect(done.stdout + done.stderr).not.toContain(wrong);
    const id = actionIdOf(done.stdout);
    expect(row(id)?.Status).toBe('Pending');
    const collected = await runCli(['actions', 'collect'], { cwd, env: { ...env(), RMM_SMB_WRONG: wrong } });
    expect(collected.stderr).toContain('smb/file-02');
    expect(collected.stdout + collected.stderr).not.toContain(wrong);
    // Nothing written on the console or by smbd holds it: the database (and its WAL), the data
    // folder's other files, smbd's log.
    const found = await execa('grep', ['-rlF', wrong, path.join(cwd, 'data'), smbd.logPath], {
      reject: false,
    });
    expect(found.stdout).toBe('');
    expect(found.exitCode).toBe(1);
    // The wrong password's session setup takes long enough to be seen (2 or 3 snapshots here).
    expect(sawSmbclient, 'ps never caught smbclient running').toBeGreaterThan(0);
  }, 180_000);
});

async function jobsOnShare(): Promise<string[]> {
  return (await readdir(path.join(smbd.shareDir, 'queue')).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.job'),
  );
}
