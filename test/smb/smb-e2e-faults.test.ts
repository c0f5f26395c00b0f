import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { waitFor } from '../helpers/wait.js';
import { actionIdOf, deviceYaml, type SmbCli, smbCli } from './smb-cli-fixture.js';

/**
 * An SMB device through the real CLI under faults (docs/smb.md, "End to end"): smbd down and back,
 * rmm actions collect SIGKILLed between its commit and its ack, a wrong password.
 */
let w: SmbCli;
beforeAll(async () => {
  w = await smbCli();
}, 120_000);
afterAll(() => w?.remove());

describe('an SMB device through the CLI, under faults', () => {
  it('smbd down: the row stays Pending with its intent, and is submitted once the share is back', async () => {
    await w.smbd.stop();
    let id: string;
    try {
      const exec = await w.rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', 'back');
      expect(exec.exitCode, exec.stderr).toBe(75);
      expect(exec.stderr).toContain('smb/file-01: submit failed: //127.0.0.1/rmm$ (port ');
      expect(exec.stderr).toContain('cannot connect (NT_STATUS_CONNECTION_REFUSED)');
      expect(exec.stderr).toContain('1 action(s) stay Pending');
      id = actionIdOf(exec.stdout);
      expect(exec.stdout).toContain(
        `"type":"queued-at-end","id":"${id}","device":"file-01","status":"Pending"`,
      );
      expect(w.row(id)?.Status).toBe('Pending');
      const intent = queryFile<{ Route: string }>(
        w.db(),
        `SELECT Route FROM ActionDeliveries WHERE ActionId = '${id}'`,
      );
      expect(intent).toEqual([{ Route: 'file-01' }]);
      const stillDown = await w.rmm('actions', 'collect');
      expect(stillDown.exitCode).toBe(0);
      expect(stillDown.stdout).toContain('submitted again 0');
      expect(w.row(id)?.Status).toBe('Pending');
    } finally {
      await w.smbd.start();
    }
    const again = await w.rmm('actions', 'collect');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('submitted again 1');
    expect(w.row(id)?.Status).toBe('Delivered');
    await w.consume();
    await w.rmm('actions', 'collect');
    expect(w.row(id)?.Status).toBe('Succeeded');
  }, 180_000);

  it('rmm actions collect SIGKILLed between applying results and deleting them: the next collect applies none twice', async () => {
    const ids: string[] = [];
    for (const word of ['one', 'two']) {
      const exec = await w.rmm('exec', '--json', '--wait', '0s', '-t', 'name=file-01', '--', 'echo', word);
      expect(exec.exitCode, exec.stderr).toBe(75);
      ids.push(actionIdOf(exec.stdout));
    }
    await w.consume();
    expect((await readdir(path.join(w.smbd.shareDir, 'results'))).sort()).toEqual(
      ids.map((id) => `${id}.json`).sort(),
    );
    // Fault injection: an smbclient that passes everything to the real one but hangs on the ack (del),
    // so the collector is killed after its commit and before the share forgets the results.
    const wrap = path.join(w.cwd, 'wrap');
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
      cwd: w.cwd,
      env: { ...w.env(), PATH: `${wrap}:${process.env.PATH}` },
    });
    const hung = await waitFor(
      'the ack to reach smbclient',
      async () => (await readFile(marker, 'utf8').catch(() => '')).trim() || undefined,
      { timeoutMs: 60_000 },
    );
    expect(ids.map((id) => w.row(id)?.Status)).toEqual(['Succeeded', 'Succeeded']);
    const [sleeper, authFile] = hung.split(' ') as [string, string];
    process.kill(collect.pid as number, 'SIGKILL');
    process.kill(Number(sleeper), 'SIGKILL');
    expect((await collect).signal).toBe('SIGKILL');
    // The killed console could not remove its authentication folder: it holds an empty FIFO, never
    // a file with the password.
    expect(await readdir(path.dirname(authFile))).toEqual(['auth']);
    expect((await lstat(authFile)).isFIFO()).toBe(true);
    await rm(path.dirname(authFile), { recursive: true, force: true });
    expect((await readdir(path.join(w.smbd.shareDir, 'results'))).length).toBe(2);
    const owed = () =>
      queryFile<{ AckOwed: number }>(
        w.db(),
        "SELECT AckOwed FROM QueueRoutes WHERE Transport = 'smb' AND Route = 'file-01'",
      )[0]?.AckOwed;
    expect(owed()).toBe(1);
    const results = ids.map((id) => w.row(id)?.Result);

    const again = await w.rmm('actions', 'collect');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('Succeeded');
    expect(ids.map((id) => w.row(id)?.Result)).toEqual(results);
    for (const id of ids) {
      const audit = queryFile<{ Action: string }>(
        w.db(),
        `SELECT Action FROM AuditLog WHERE Details LIKE '%${id}%' ORDER BY rowid`,
      );
      // Applied once; the second reading of the same result is only recorded as refused (ended).
      expect(audit.map((a) => a.Action)).toEqual([
        'action.exec Device/file-01',
        'queue.report-refused smb/file-01',
      ]);
    }
    expect(await readdir(path.join(w.smbd.shareDir, 'results'))).toEqual([]);
    expect(owed()).toBe(0);
  }, 180_000);

  it('a wrong password: a clear message, the row stays Pending, and the password is nowhere', async () => {
    const wrong = 'Wrong-Pa55word-e2e';
    await writeFile(
      path.join(w.cwd, 'devices.yaml'),
      [
        deviceYaml(
          'file-01',
          `type: smb, user: ${w.smbd.user}, credentialRef: "env:RMM_SMB_PASSWORD", port: ${w.smbd.port}`,
        ),
        deviceYaml(
          'file-02',
          `type: smb, user: ${w.smbd.user}, credentialRef: "env:RMM_SMB_WRONG", port: ${w.smbd.port}`,
        ),
      ].join('---\n'),
    );
    const applied = await w.rmm('apply', '-f', 'devices.yaml', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    const exec = spawnCli(['exec', '--json', '--wait', '0s', '-t', 'name=file-02', '--', 'echo', 'x'], {
      cwd: w.cwd,
      env: { ...w.env(), RMM_SMB_WRONG: wrong },
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
    expect(w.row(id)?.Status).toBe('Pending');
    const collected = await runCli(['actions', 'collect'], {
      cwd: w.cwd,
      env: { ...w.env(), RMM_SMB_WRONG: wrong },
    });
    expect(collected.stderr).toContain('smb/file-02');
    expect(collected.stdout + collected.stderr).not.toContain(wrong);
    // Nothing written on the console or by smbd holds it: the database (and its WAL), the data
    // folder's other files, smbd's log.
    const found = await execa('grep', ['-rlF', wrong, path.join(w.cwd, 'data'), w.smbd.logPath], {
      reject: false,
    });
    expect(found.stdout).toBe('');
    expect(found.exitCode).toBe(1);
    // The wrong password's session setup takes long enough to be seen (2 or 3 snapshots here).
    expect(sawSmbclient, 'ps never caught smbclient running').toBeGreaterThan(0);
  }, 180_000);
});
