// The ingest benchmark (issue 12, storage): 1,000,000 samples (100,000 devices x 10 metrics) written
// through rmm's storage path, beside the floor of bare better-sqlite3 inserting the same rows into
// the same table in one transaction, in the same run. Each measurement runs twice in a fresh process
// and database (bench/ingest-child.js); the best of each is compared. Printed, never asserted.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const RUNS = 2;

export function ingest({ root, work, fmt }) {
  const dir = path.join(work, 'ingest');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(
    '\ningest: 1,000,000 samples (100,000 devices x 10 metrics) into Metrics, a fresh database each run',
  );
  console.log(
    `  ${'measurement'.padEnd(50)} ${'wall s'.padStart(7)} ${'cpu s'.padStart(7)} ${'samples/s'.padStart(10)} ${'MB on disk'.padStart(10)}`,
  );
  const best = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [mode, label] of [
      ['floor', 'floor: better-sqlite3, 1 statement, 1 tx'],
      ['rmm', 'rmm: writeSamples, batches of 5,000'],
    ]) {
      const file = path.join(dir, `${mode}-${run}.db`);
      const child = spawnSync(process.execPath, [path.join(root, 'bench', 'ingest-child.js'), mode, file], {
        encoding: 'utf8',
        maxBuffer: 1024 * 1024,
      });
      if (child.status !== 0) throw new Error(`ingest ${mode}: exit ${child.status}\n${child.stderr}`);
      const r = JSON.parse(child.stdout.trim().split('\n').pop());
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      console.log(
        `  ${`${label} (run ${run + 1})`.padEnd(50)} ${fmt(r.timedMs / 1000, 2).padStart(7)} ${fmt(r.cpuMs / 1000, 2).padStart(7)} ${fmt(r.rows / (r.timedMs / 1000)).padStart(10)} ${fmt(r.fileBytes / 1e6, 1).padStart(10)}`,
      );
      if (!best[mode] || r.timedMs < best[mode].timedMs) best[mode] = r;
    }
  }
  const perSecond = (r) => fmt(r.rows / (r.timedMs / 1000));
  const perCpuSecond = (r) => fmt(r.rows / (r.cpuMs / 1000));
  console.log(
    `  best of ${RUNS} by wall: rmm ${perSecond(best.rmm)} samples/s, floor ${perSecond(best.floor)}, rmm x floor ${fmt(best.rmm.timedMs / best.floor.timedMs, 2)}`,
  );
  // On a shared disk the wall time is mostly waiting for I/O that others cause; CPU time is what
  // the storage path itself costs.
  console.log(
    `  by CPU: rmm ${perCpuSecond(best.rmm)} samples per CPU second, floor ${perCpuSecond(best.floor)}, rmm x floor ${fmt(best.rmm.cpuMs / best.floor.cpuMs, 2)}; ${fmt(best.rmm.fileBytes / best.rmm.rows, 0)} bytes per sample on disk`,
  );
  console.log(
    'Targets (issue 12): within 1.5x the floor and over 100,000 samples/s (anchor: Zabbix, 9,400 values/s on a large server).',
  );
}
