// The SMB queue benchmark (issue 15): 500 jobs queued to one real smbd share (test/helpers/smbd.ts,
// SMB 3 with encryption and signing required) and their results collected, the POSIX consumer
// draining the queue in between. smbclient processes are counted through a wrapper first on PATH.
// The floor: one `smbclient` process putting the same 500 job files. Figures printed, never asserted.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { jobFile } from '../plugins/smb/src/job-file.ts';
import { startSmbd } from '../test/helpers/smbd.ts';
import { smbWorld } from '../test/smb/smb-fixture.ts';

const JOBS = 500;

export async function smb({ fmt }) {
  const smbd = await startSmbd();
  const world = await smbWorld(smbd);
  const wrappers = mkdtempSync(path.join(os.tmpdir(), 'rmm-bench-smbclient-'));
  const counter = path.join(wrappers, 'count');
  const realPath = process.env.PATH;
  try {
    writeFileSync(
      path.join(wrappers, 'smbclient'),
      `#!/bin/sh\necho x >> ${counter}\nexec /usr/bin/smbclient "$@"\n`,
    );
    chmodSync(path.join(wrappers, 'smbclient'), 0o755);
    process.env.PATH = `${wrappers}:${realPath}`;
    const processes = () => readFileSync(counter, 'utf8').split('\n').length - 1;
    writeFileSync(counter, '');

    const queue = await world.open();
    const actions = Array.from({ length: JOBS }, () => ({
      actionId: randomUUID(),
      type: 'exec',
      device: { name: 'web-01', host: '127.0.0.1', os: 'linux', transport: { type: 'smb' } },
      command: 'true',
      timeoutMs: 60_000,
      connectTimeoutMs: 5000,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    }));
    let started = performance.now();
    const outcomes = await queue.submit(actions);
    const queueMs = performance.now() - started;
    const queueProcesses = processes();
    if (outcomes.some((o) => !o.accepted)) throw new Error('smb bench: a job was not accepted');

    started = performance.now();
    await world.consume({ maxJobs: JOBS });
    const consumeMs = performance.now() - started;

    writeFileSync(counter, '');
    started = performance.now();
    let collected = 0;
    for (let round = 0; round < 10 && collected < JOBS; round++) {
      const reports = await queue.fetch({ max: 1000, waitMs: 0 });
      collected += reports.filter((r) => r.report.kind === 'finished').length;
      await queue.ack(reports);
    }
    const collectMs = performance.now() - started;
    const collectProcesses = processes();
    if (collected !== JOBS) throw new Error(`smb bench: collected ${collected} of ${JOBS}`);
    await queue.close();

    // The floor: the same 500 job files put by one smbclient process, nothing else.
    const files = mkdtempSync(path.join(os.tmpdir(), 'rmm-bench-smbfloor-'));
    const auth = path.join(files, 'auth');
    writeFileSync(auth, `username = ${smbd.user}\npassword = ${smbd.password}\n`, { mode: 0o600 });
    const key = await import('../plugins/smb/src/signing-key.ts').then((m) =>
      m.loadSigningKey(world.consoleState),
    );
    const commands = ['mkdir floor'];
    for (const action of actions) {
      writeFileSync(path.join(files, `${action.actionId}.job`), jobFile(action, key, new Date()));
      commands.push(`put ${path.join(files, `${action.actionId}.job`)} floor/${action.actionId}.job`);
    }
    started = performance.now();
    const floor = await execa(
      '/usr/bin/smbclient',
      [
        `//${smbd.host}/${smbd.share}`,
        '-p',
        String(smbd.port),
        '-A',
        auth,
        '-m',
        'SMB3',
        '--client-protection=encrypt',
      ],
      { input: `${commands.join('\n')}\n`, reject: false },
    );
    const floorMs = performance.now() - started;
    rmSync(files, { recursive: true, force: true });
    if (floor.exitCode !== 0) throw new Error(`smb bench floor: smbclient exited ${floor.exitCode}`);

    console.log(
      `\nSMB queue (issue 15): ${JOBS} jobs to one share on a real smbd (SMB 3, encrypted, signed)`,
    );
    console.log(
      `  ${'step'.padEnd(44)} ${'wall s'.padStart(8)} ${'smbclient'.padStart(10)} ${'vs floor'.padStart(9)}`,
    );
    const row = (label, ms, count) =>
      console.log(
        `  ${label.padEnd(44)} ${fmt(ms / 1000, 2).padStart(8)} ${String(count).padStart(10)} ${fmt(ms / floorMs, 2).padStart(9)}`,
      );
    row('queue (sign, put .tmp, rename)', queueMs, queueProcesses);
    row('consumer drains the queue (sh, on the share)', consumeMs, 0);
    row('collect (ls, get, parse, ack = del)', collectMs, collectProcesses);
    row('floor: one smbclient putting the 500 files', floorMs, 1);
  } finally {
    process.env.PATH = realPath;
    rmSync(wrappers, { recursive: true, force: true });
    await world.remove();
    await smbd.remove();
  }
}
