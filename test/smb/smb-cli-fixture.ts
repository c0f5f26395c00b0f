import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type Smbd, startSmbd } from '../helpers/smbd.js';
import { queryFile } from '../helpers/sqlite.js';

/**
 * An SMB device for tests through the real CLI (docs/smb.md, "End to end"): a real smbd, a console
 * workspace where `rmm apply` declared Device file-01 (type smb at 127.0.0.1, on smbd's port), and
 * the consumer `rmm smb enroll` wrote, installed on the folder smbd shares: the device's side.
 */
export interface SmbCli {
  smbd: Smbd;
  cwd: string;
  env: () => Record<string, string>;
  rmm: (...args: string[]) => ReturnType<typeof runCli>;
  db: () => string;
  row: (id: string) => { Status: string; Result: string | null; DeviceId: string } | undefined;
  /** Runs the installed consumer once on the share's folder, as the device's cron would. */
  consume: () => Promise<void>;
  jobsOnShare: () => Promise<string[]>;
  remove: () => Promise<void>;
}

export const deviceYaml = (name: string, transport: string) =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: linux\n  transport: {${transport}}\n`;

export async function smbCli(): Promise<SmbCli> {
  const smbd = await startSmbd();
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-smb-e2e-'));
  const lib = path.join(cwd, 'device', 'lib');
  const state = path.join(cwd, 'device', 'state');
  const env = () => ({ RMM_SMB_PASSWORD: smbd.password });
  const rmm = (...args: string[]) => runCli(args, { cwd, env: env() });
  const db = () => path.join(cwd, 'data', 'devices.db');
  await writeFile(
    path.join(cwd, 'devices.yaml'),
    deviceYaml(
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
  return {
    smbd,
    cwd,
    env,
    rmm,
    db,
    row: (id) =>
      queryFile<{ Status: string; Result: string | null; DeviceId: string }>(
        db(),
        'SELECT Status, Result, DeviceId FROM Actions WHERE ActionId = ?',
        id,
      )[0],
    async consume() {
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
    },
    jobsOnShare: async () =>
      (await readdir(path.join(smbd.shareDir, 'queue')).catch(() => [] as string[])).filter((f) =>
        f.endsWith('.job'),
      ),
    async remove() {
      await smbd.remove();
      await rm(cwd, { recursive: true, force: true });
    },
  };
}

/** The ActionId `rmm exec --json` printed for its one device. */
export function actionIdOf(stdout: string): string {
  const ids = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { id?: string })
    .map((o) => o.id)
    .filter((id): id is string => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id));
  expect(ids.length, stdout).toBeGreaterThan(0);
  return ids[0] as string;
}
