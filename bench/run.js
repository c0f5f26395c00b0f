// npm run bench: figures for the targets of the issues, each beside floors measured in the same run
// on the same input. Every measurement runs in a fresh process, so one's heap never inflates
// another's peak RSS. Figures are printed, never asserted.
//
//   node bench/run.js [--quick]     --quick skips the slow `yaml` floor (about 30 s and 1.2 GB)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.work');
const quick = process.argv.includes('--quick');
const reportFile = path.join(work, 'usage.json');

function measure(label, args, { expectExit = 0 } = {}) {
  rmSync(reportFile, { force: true });
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    ['--import', path.join(root, 'bench', 'report-usage.js'), ...args],
    {
      cwd: work,
      env: { ...process.env, RMM_BENCH_REPORT: reportFile, NO_COLOR: '1' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const wallMs = performance.now() - started;
  if (child.status !== expectExit) {
    throw new Error(
      `${label}: exit ${child.status}\n${child.stdout.slice(0, 2000)}\n${child.stderr.slice(0, 2000)}`,
    );
  }
  const usage = JSON.parse(readFileSync(reportFile, 'utf8'));
  const timed = child.stdout.startsWith('{"timedMs"') ? JSON.parse(child.stdout).timedMs : undefined;
  return { label, wallMs: timed ?? wallMs, cpuMs: usage.cpuMs, maxRssMb: usage.maxRssMb };
}

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(title, documents, rows, baseline) {
  console.log(`\n${title}`);
  console.log(
    `  ${'measurement'.padEnd(34)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(8)} ${'docs/s'.padStart(10)} ${'peak RSS MB'.padStart(12)} ${'x js-yaml'.padStart(10)}`,
  );
  for (const r of rows) {
    const ratio = baseline ? fmt(r.wallMs / baseline.wallMs, 2) : '';
    console.log(
      `  ${r.label.padEnd(34)} ${fmt(r.wallMs / 1000, 2).padStart(8)} ${fmt(r.cpuMs / 1000, 2).padStart(8)} ${fmt(documents / (r.wallMs / 1000)).padStart(10)} ${fmt(r.maxRssMb).padStart(12)} ${ratio.padStart(10)}`,
    );
  }
}

console.log(
  `rmm benchmarks on ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}`,
);
const { one, many, devices } = generate(work);
console.log(
  `input: ${fmt(devices)} Device documents (+103 sites, groups and a policy), as 1 file and as 1,000 files of 100`,
);

const cli = path.join(root, 'bin', 'run.js');
for (const [layout, dir] of [
  ['one file', one],
  ['1,000 files of 100', many],
]) {
  const jsYaml = measure('floor: js-yaml loadAll (core)', [
    path.join(root, 'bench', 'floors.js'),
    'js-yaml',
    dir,
  ]);
  const rows = [jsYaml];
  if (!quick)
    rows.push(
      measure('floor: yaml parseAllDocuments+toJS', [path.join(root, 'bench', 'floors.js'), 'yaml', dir]),
    );
  rows.push(measure('floor: AJV alone (in memory)', [path.join(root, 'bench', 'floors.js'), 'ajv', dir]));
  rows.push(measure('rmm validate -f DIR', [cli, 'validate', '-f', dir]));
  table(`validate, ${layout}`, devices, rows, jsYaml);
}
console.log('\nTargets (issue 2): rmm validate within 1.5x the js-yaml floor, peak RSS under 600 MB.');
