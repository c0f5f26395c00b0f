// The reconcile part of npm run bench (issue 3, issue 16): cold apply, no-op plans and a 1% change,
// each beside its floor. Every measurement runs RUNS times, each in a fresh process on a fresh data
// directory and a fresh copy of the input, and shows min, median and max: one run of each read a
// cache that missed half the time as a figure. Each plan and apply also shows what the check cache
// found (hits/misses, counted by the cache itself and printed under RMM_TIMING=1), so a cache that
// misses is visible in the table rather than read as a slow run.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const RUNS = 3;
const CACHE_LINE = /^\[timing\] check cache: hits (\d+), misses (\d+)$/m;
const INCREMENTAL_LINE = /^\[timing\] incremental: read (\d+|all), (?:unread (\d+)|why .*)$/m;

/**
 * `measure(label, args, {env})` runs one fresh process and returns {wallMs, cpuMs, maxRssMb, timed,
 * out, stderr}; `expectLine` fails loudly unless rmm printed the line meant.
 */
export function reconcile({ work, cli, floors, layouts, devices, measure, expectLine, fmt }) {
  for (const [layout, original] of layouts) {
    const name = layout === 'one file' ? 'one-file' : 'many-files';
    const runs = [];
    for (let run = 0; run < RUNS; run++) runs.push(reconcileOnce(name, original));
    printTable(`reconcile, ${layout} (${RUNS} runs each, fresh processes)`, runs, fmt);
  }
  console.log(
    [
      '\nFloors: apply = js-yaml parse + AJV + one SQLite transaction of the same rows, run in one process',
      '(start-up excluded); js-yaml = its parse part. rows: resources declared, or in the change set.',
      'Each figure is min / median / max of the runs; x floor is each run over the floor measured in the',
      'same run (wall, then CPU time: on a shared machine wall time includes waiting for a core). cache:',
      "the check cache's files hit/missed in each run, and rN: the files an incremental plan read (rall: all).",
      'Targets (issue 3): cold apply within 1.5x the apply floor; a no-op plan within 1x the js-yaml floor;',
      'on the 1,000-file layout, a plan after a 1% change within 0.2x the js-yaml floor.',
    ].join('\n'),
  );

  /** One pass of every measurement, on its own copy of the input and its own data directory. */
  function reconcileOnce(name, original) {
    // rmm works on a copy that the 1% change edits in place: the original layout stays as generated.
    const dir = path.join(work, `${name}-reconcile`);
    rmSync(dir, { recursive: true, force: true });
    cpSync(original, dir, { recursive: true });
    const floorDb = path.join(freshDataDir(`${name}-floor-data`), 'devices.db');
    const floor = measure('floor: apply (sum of the 3 below)', [floors, 'apply-floor', dir, floorDb]);
    const declared = { count: floor.timed.documents, what: 'declared' };
    const part = (label, key) => ({ label, ...floor.timed.parts[key], rows: declared });
    const parse = part('  js-yaml loadAll (core)', 'parse');
    const dataDir = freshDataDir(`${name}-data`);
    const rmm = (label, verb, line, ...flags) => {
      const result = expectLine(
        measure(label, [cli, verb, '-f', dir, ...flags, '--data-dir', dataDir], { env: { RMM_TIMING: '1' } }),
        line,
      );
      const counted = CACHE_LINE.exec(result.stderr);
      // An incremental plan also says how many files it read (issue 16): r10 read 10, rall read all.
      const files = INCREMENTAL_LINE.exec(result.stderr);
      const cache = `${counted ? `${counted[1]}/${counted[2]}` : 'none'}${files ? ` r${files[1]}` : ''}`;
      return { ...result, cache };
    };
    const rows = [
      { ...floor, rows: declared },
      parse,
      part('  AJV (in memory)', 'ajv'),
      part('  SQLite inserts, 1 transaction', 'sqlite'),
    ];
    const changed = (count) => ({ count, what: 'changed' });
    const applied = `Apply complete: ${declared.count} added, 0 changed, 0 destroyed.`;
    rows.push({
      ...rmm('cold apply', 'apply', applied, '--auto-approve'),
      rows: changed(declared.count),
      floor: 0,
    });
    const noChanges = 'No changes. The database matches the declared resources.';
    // The no-op rows measure the check cache (issue 3), so every file is read (--no-incremental);
    // the incremental plan (issue 16) has rows of its own.
    const full = '--no-incremental';
    rows.push({ ...rmm('no-op plan, warm cache', 'plan', noChanges, full), rows: declared, floor: 1 });
    rows.push({ ...rmm('no-op plan, incremental', 'plan', noChanges), rows: declared, floor: 1 });
    // The cache may be deleted at any time: what is left is an empty cache/, as after rmm init.
    rmSync(path.join(dataDir, 'cache'), { recursive: true, force: true });
    mkdirSync(path.join(dataDir, 'cache'));
    rows.push({ ...rmm('no-op plan, no cache', 'plan', noChanges, full), rows: declared, floor: 1 });
    const count = changeOnePercent(dir, devices);
    const planned = `Plan: 0 to add, ${count} to change, 0 to destroy.`;
    // The incremental plan first: the first plan after an edit finds the changed files' checks uncached.
    rows.push({ ...rmm('1% change: plan (incremental)', 'plan', planned), rows: declared, floor: 1 });
    rows.push({
      ...rmm('1% change: plan, every file read', 'plan', planned, full),
      rows: declared,
      floor: 1,
    });
    const changedLine = `Apply complete: 0 added, ${count} changed, 0 destroyed.`;
    rows.push({
      ...rmm('1% change: apply', 'apply', changedLine, '--auto-approve'),
      rows: changed(count),
      floor: 1,
    });
    // floor: which row a measurement's ratio is to (0: the apply floor, 1: its js-yaml part).
    return rows;
  }

  /** A fresh data directory made by `rmm init` (not measured). */
  function freshDataDir(name) {
    const dataDir = path.join(work, name);
    rmSync(dataDir, { recursive: true, force: true });
    const child = spawnSync(process.execPath, [cli, 'init', '--data-dir', dataDir], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`rmm init --data-dir ${dataDir}: ${child.stdout}${child.stderr}`);
    return dataDir;
  }
}

/** Rows of the same label across runs: min / median / max of each figure. */
function printTable(title, runs, fmt) {
  const floorNames = ['apply', 'js-yaml'];
  const stats = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) };
  };
  const spread = (s, digits) => `${fmt(s.min, digits)} / ${fmt(s.median, digits)} / ${fmt(s.max, digits)}`;
  console.log(`\n${title}`);
  console.log(
    `  ${'measurement'.padEnd(34)} ${'wall s min/med/max'.padStart(20)} ${'cpu s min/med/max'.padStart(20)} ${'rows'.padStart(16)} ${'rows/s'.padStart(8)} ${'RSS MB'.padStart(7)} ${'x floor min/med/max'.padStart(22)} ${'x floor cpu'.padStart(18)} ${'cache hits/misses'.padStart(20)}`,
  );
  runs[0].forEach((first, i) => {
    const each = runs.map((rows) => rows[i]);
    const wall = stats(each.map((r) => r.wallMs / 1000));
    const cpu = each.every((r) => r.cpuMs !== undefined)
      ? spread(stats(each.map((r) => r.cpuMs / 1000)), 2)
      : '';
    const rss = each.every((r) => r.maxRssMb !== undefined)
      ? fmt(Math.max(...each.map((r) => r.maxRssMb)))
      : '';
    // Each run's ratio to the floor measured in the same run, so a loaded moment shows in both; on a
    // shared machine wall time includes waiting for a core, so the ratio of CPU time is shown too.
    const ratioOf = (key) =>
      first.floor === undefined
        ? ''
        : spread(stats(each.map((r, run) => r[key] / runs[run][first.floor][key])), 2);
    const ratio = first.floor === undefined ? '' : `${ratioOf('wallMs')} ${floorNames[first.floor]}`;
    const cpuRatio = ratioOf('cpuMs');
    const cache = first.cache === undefined ? '' : each.map((r) => r.cache).join(' ');
    console.log(
      `  ${first.label.padEnd(34)} ${spread(wall, 2).padStart(20)} ${cpu.padStart(20)} ${`${fmt(first.rows.count)} ${first.rows.what}`.padStart(16)} ${fmt(first.rows.count / wall.median).padStart(8)} ${rss.padStart(7)} ${ratio.padStart(22)} ${cpuRatio.padStart(18)} ${cache.padStart(20)}`,
    );
  });
}

/**
 * Gives devices dev-000000..dev-000999 (1%) a new owner: in the 1,000-file layout that rewrites files
 * devices-0000..0009, in the one-file layout the first thousand documents of devices.yaml. The new
 * value is longer, so every changed file changes size as well as content. Returns the count changed.
 */
function changeOnePercent(dir, devices) {
  const newOwner = (text) => text.replace(/owner: team-\d+\}/g, 'owner: team-bench}');
  const file = path.join(dir, 'devices.yaml');
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const cut = text.indexOf('name: dev-001000\n');
    writeFileSync(file, newOwner(text.slice(0, cut)) + text.slice(cut));
  } else {
    for (let f = 0; f < 10; f++) {
      const file = path.join(dir, `devices-${String(f).padStart(4, '0')}.yaml`);
      writeFileSync(file, newOwner(readFileSync(file, 'utf8')));
    }
  }
  return devices / 100;
}
