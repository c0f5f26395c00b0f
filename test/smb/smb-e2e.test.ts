import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type Smbd, startSmbd } from '../helpers/smbd.js';
import { queryFile } from '../helpers/sqlite.js';

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
});
