import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/cli.js';
import { copyExamples } from '../helpers/example-repo.js';
import { queryFile } from '../helpers/sqlite.js';

// GitOps with a writer beside it: a process writing what rmm serve writes (Devices.Status and
// LastSeen, Metrics, Alerts) in a loop while the CLI plans and applies the example repository
// with changes and a prune. The saved plan is applied exactly, a second plan is empty, nothing
// serve wrote is lost or rewound, and the pruned device's rows go with it. The property test
// (test/engine/reconcile-property.test.ts) checks the same row by row on a second connection.

let cwd: string;
let repo: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const dbFile = () => path.join(cwd, 'data', 'devices.db');
const query = <T>(sql: string) => queryFile<T>(dbFile(), sql);
const PRUNED = 'alpha-web-10';
/** Bounds the writer whatever happens to the test; it is stopped long before. */
const MAX_ROUNDS = 5_000;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-beside-serve-'));
  repo = path.join(cwd, 'repo');
  await copyExamples(repo);
  expect((await rmm('init')).exitCode).toBe(0);
  expect((await rmm('apply', '-f', repo, '-R', '--auto-approve')).exitCode).toBe(0);
}, 120_000);
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

interface Snapshot {
  lastSeen: Map<string, string | null>;
  alertIds: Set<string>;
  /** Metrics rows of the devices that stay, up to maxMetricId (one read: the writer goes on). */
  keptRows: number;
  maxMetricId: number;
  maxTimestamp: number;
}

/** What serve wrote for the devices that stay. */
function snapshot(): Snapshot {
  const devices = query<{ DeviceId: string; LastSeen: string | null }>(
    'SELECT DeviceId, LastSeen FROM Devices',
  );
  const alerts = query<{ AlertId: string }>(`SELECT AlertId FROM Alerts WHERE DeviceId != '${PRUNED}'`);
  const [m] = query<{ kept: number; maxId: number; maxAt: number }>(
    `SELECT sum(DeviceId != '${PRUNED}') AS kept, max(MetricId) AS maxId, max(Timestamp) AS maxAt FROM Metrics`,
  );
  return {
    lastSeen: new Map(devices.filter((d) => d.DeviceId !== PRUNED).map((d) => [d.DeviceId, d.LastSeen])),
    alertIds: new Set(alerts.map((a) => a.AlertId)),
    keptRows: m?.kept ?? 0,
    maxMetricId: m?.maxId ?? 0,
    maxTimestamp: m?.maxAt ?? 0,
  };
}

describe('plan and apply beside a process writing what rmm serve writes', () => {
  it('applies exactly the saved plan, leaves what serve wrote, then plans nothing', async () => {
    const writer = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'test/helpers/observed-writer-process.ts'),
        dbFile(),
        `${MAX_ROUNDS}`,
      ],
      { cwd: repoRoot, stdin: 'pipe', reject: false },
    );
    const ready = new Promise<void>((resolve, reject) => {
      writer.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      writer.once('exit', () => reject(new Error('the writer ended before its first round')));
    });
    try {
      await ready;
      const devices = path.join(repo, 'devices', 'alpha.yaml');
      const docs = (await readFile(devices, 'utf8')).split(/^---\n/m);
      await writeFile(
        devices,
        docs
          .filter((d) => !d.includes(`name: ${PRUNED}\n`))
          .join('---\n')
          .replaceAll('tags: [prod, db]', 'tags: [prod, db, edited]'),
      );
      const planFile = path.join(cwd, 'plan.json');
      const plan = await rmm('plan', '-f', repo, '-R', '--prune', '--out', planFile);
      expect(plan.exitCode, plan.stderr).toBe(0);
      const planned = JSON.parse(await readFile(planFile, 'utf8'));
      const before = snapshot();

      const applied = await rmm('apply', planFile, '--json');
      expect(applied.exitCode, applied.stderr).toBe(0);
      const after = snapshot();

      // Exactly the plan: the five edited db devices and the pruned one, no more.
      const events = applied.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((e) => e.type !== 'summary');
      const changed = (list: Array<{ action: string; kind: string; name: string }>) =>
        list.map((c) => `${c.action} ${c.kind}/${c.name}`).sort();
      expect(changed(events)).toEqual(changed(planned.plan?.changes ?? planned.changes));
      expect(changed(events)).toEqual([
        'delete Device/alpha-web-10',
        ...['01', '02', '03', '04', '05'].map((n) => `update Device/alpha-db-${n}`),
      ]);

      // The writer went on around the apply, and nothing it wrote was lost or rewound.
      expect(after.maxTimestamp).toBeGreaterThan(before.maxTimestamp);
      for (const [device, seen] of before.lastSeen) {
        expect(seen, device).not.toBeNull();
        expect((after.lastSeen.get(device) ?? '') >= (seen ?? ''), device).toBe(true);
      }
      for (const id of before.alertIds) expect(after.alertIds.has(id)).toBe(true);
      const [kept] = query<{ n: number }>(
        `SELECT count(*) AS n FROM Metrics WHERE MetricId <= ${before.maxMetricId} AND DeviceId != '${PRUNED}'`,
      );
      expect(before.keptRows).toBeGreaterThan(0);
      expect(kept?.n).toBe(before.keptRows);

      // The pruned device took its rows along, and nothing the writer wrote after brought any back.
      expect(query(`SELECT 1 FROM Devices WHERE DeviceId = '${PRUNED}'`)).toEqual([]);
      expect(query(`SELECT 1 FROM Metrics WHERE DeviceId = '${PRUNED}'`)).toEqual([]);
      expect(query(`SELECT 1 FROM Alerts WHERE DeviceId = '${PRUNED}'`)).toEqual([]);

      const again = await rmm('plan', '-f', repo, '-R', '--prune', '--detailed-exitcode');
      expect(again.exitCode, again.stdout).toBe(0);
    } finally {
      writer.stdin?.end();
    }
    const result = await writer;
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
    expect(report.errors).toEqual([]);
    expect(report.rounds).toBeLessThan(MAX_ROUNDS);
    // Its stale fleet still held the pruned device: those writes were refused, not thrown.
    expect(report.refusedSamples).toBeGreaterThan(0);
  }, 180_000);
});
