// npm run bench: figures for the targets of the issues, each beside floors measured in the same run
// on the same input. Every measurement runs in a fresh process, so one's heap never inflates
// another's peak RSS. Figures are printed, never asserted.
//
//   node --import tsx bench/run.js [--quick] [--only=PART]   (PART: one of PARTS below)
//     --quick skips the slow `yaml` floor (about 30 s and 1.2 GB); --only runs one part, to iterate.
//     fanout (bench/fanout.js) needs /usr/sbin/sshd, ssh, parallel-ssh and GNU time: apt-get install
//     openssh-server openssh-client pssh time; collect (bench/collect.js) needs /usr/sbin/sshd;
//     relay (bench/relay.js) needs /usr/sbin/sshd and Debian's nats-server (apt-get install nats-server)
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collect } from './collect.js';
import { fanout } from './fanout.js';
import { generate } from './generate.js';
import { HOSTILE, writeHostile } from './hostile.js';
import { ingest } from './ingest.js';
import { reconcile } from './reconcile.js';
import { relay } from './relay.js';
import { REPLAY_FLAG, replayInput } from './replay.js';
import { smb } from './smb.js';
import { winrm } from './winrm.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.work');
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
// The parts --only can name.
const PARTS = [
  'validate',
  'reconcile',
  'fanout',
  'winrm',
  'hostile',
  'evaluate',
  'collect',
  'ingest',
  'day',
  'storm',
  'replay',
  'smb',
  'relay',
];
// Parts that bring their own input: the 100,000-device input is for validate and reconcile only.
const OWN_INPUT = PARTS.filter((part) => part !== 'validate' && part !== 'reconcile');
if (only !== undefined && !PARTS.includes(only))
  throw new Error(`--only=${only}: expected one of ${PARTS.join(', ')}`);
const reportFile = path.join(work, 'usage.json');
// The child's stdout goes to a file: rmm apply --full prints about 43 MB for 100,000 devices, more than a
// pipe buffer should hold, and only its last lines are read.
const stdoutFile = path.join(work, 'stdout.txt');

function measure(label, args, { expectExit = 0, env = {} } = {}) {
  rmSync(reportFile, { force: true });
  const stdout = openSync(stdoutFile, 'w');
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    ['--import', path.join(root, 'bench', 'report-usage.js'), ...args],
    {
      cwd: work,
      env: { ...process.env, ...env, RMM_BENCH_REPORT: reportFile, NO_COLOR: '1' },
      stdio: ['ignore', stdout, 'pipe'],
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const wallMs = performance.now() - started;
  closeSync(stdout);
  const out = tail(stdoutFile);
  if (child.error || child.status !== expectExit) {
    throw new Error(
      `${label}: exit ${child.status} ${child.error ?? ''}\n${out.slice(-2000)}\n${child.stderr.slice(0, 2000)}`,
    );
  }
  const usage = JSON.parse(readFileSync(reportFile, 'utf8'));
  // A floor that times only part of its process prints {"timedMs", optionally "cpuMs" and "parts"}.
  const timed = out.startsWith('{"timedMs"') ? JSON.parse(out) : {};
  return {
    label,
    wallMs: timed.timedMs ?? wallMs,
    cpuMs: timed.cpuMs ?? usage.cpuMs,
    maxRssMb: usage.maxRssMb,
    timed,
    out,
    stderr: child.stderr,
  };
}

/** The last `bytes` of a file: enough for rmm's summary lines, or a floor's JSON. */
function tail(file, bytes = 64 * 1024) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The figures are only worth printing if rmm did the work meant: fail loudly otherwise. */
function expectLine(result, line) {
  if (!result.out.includes(line))
    throw new Error(`${result.label}: expected "${line}" in its output, got:\n${result.out.slice(-1000)}`);
  return result;
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
// The 100,000-device input is for validate and reconcile only: fanout declares its own devices.
const ownInput = only !== undefined && OWN_INPUT.includes(only);
if (ownInput) mkdirSync(work, { recursive: true });
const { one, many, devices } = ownInput ? {} : generate(work);
if (devices)
  console.log(
    `input: ${fmt(devices)} Device documents (+103 sites, groups and a policy), as 1 file and as 1,000 files of 100`,
  );

const cli = path.join(root, 'bin', 'run.js');
const floors = path.join(root, 'bench', 'floors.js');
const layouts = [
  ['one file', one],
  ['1,000 files of 100', many],
];

if (!only || only === 'validate') {
  for (const [layout, dir] of layouts) {
    const jsYaml = measure('floor: js-yaml loadAll (core)', [floors, 'js-yaml', dir]);
    const rows = [jsYaml];
    if (!quick) rows.push(measure('floor: yaml parseAllDocuments+toJS', [floors, 'yaml', dir]));
    rows.push(measure('floor: AJV alone (in memory)', [floors, 'ajv', dir]));
    rows.push(measure('rmm validate -f DIR', [cli, 'validate', '-f', dir]));
    table(`validate, ${layout}`, devices, rows, jsYaml);
  }
  console.log('\nTargets (issue 2): rmm validate within 1.5x the js-yaml floor, peak RSS under 600 MB.');
}

if (!only || only === 'reconcile')
  reconcile({ work, cli, floors, layouts, devices, measure, expectLine, fmt });

if (!only || only === 'fanout') await fanout({ root, work, cli, fmt });
if (!only || only === 'winrm') await winrm({ root, work, cli, fmt });
if (!only || only === 'collect') await collect({ root, fmt });
if (!only || only === 'smb') await smb({ fmt });
if (!only || only === 'relay') await relay({ root, work, cli, fmt });

if (!only || only === 'hostile') {
  // Each hostile input alone in a fresh folder, through `rmm validate`, which must refuse it.
  const dir = path.join(work, 'hostile');
  rmSync(dir, { recursive: true, force: true });
  console.log('\nhostile inputs (issue 11), each refused by rmm validate -f FILE');
  console.log(
    `  ${'file'.padEnd(26)} ${'size'.padStart(10)} ${'wall s'.padStart(8)} ${'peak RSS MB'.padStart(12)}  message`,
  );
  for (const name of Object.keys(HOSTILE)) {
    const file = writeHostile(dir, name);
    const r = measure(name, [cli, 'validate', '-f', file], { expectExit: 1 });
    if (!r.out.includes(HOSTILE[name].message))
      throw new Error(`${name}: expected "${HOSTILE[name].message}"\n${r.out}`);
    const size = spawnSync('stat', ['-c', '%F %s', file], { encoding: 'utf8' }).stdout.trim();
    const bytes = size.startsWith('regular file')
      ? fmt(Number(size.split(' ').pop()))
      : size.split(' ').slice(0, -1).join(' ');
    console.log(
      `  ${name.padEnd(26)} ${bytes.padStart(10)} ${fmt(r.wallMs / 1000, 2).padStart(8)} ${fmt(r.maxRssMb).padStart(12)}  ${HOSTILE[name].message}`,
    );
  }
  console.log('Targets (issue 11): each under 2 s and 300 MB.');
}

if (!only || only === 'evaluate') {
  // bench/evaluate.js builds the hot tier and runs the evaluator and its floor in one process.
  const r = measure('evaluate', ['--expose-gc', path.join(root, 'bench', 'evaluate.js')]);
  const t = r.timed;
  console.log(
    `\nevaluation (issue 12): ${fmt(t.series)} series (100,000 devices x 5 monitors), ${fmt(t.samples)} samples in the hot tier`,
  );
  console.log(
    `  ${'measurement'.padEnd(44)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(8)} ${'x floor cpu'.padStart(12)}`,
  );
  const row = (label, part) =>
    console.log(
      `  ${label.padEnd(44)} ${fmt(part.wallMs / 1000, 3).padStart(8)} ${fmt(part.cpuMs / 1000, 3).padStart(8)} ${fmt(part.cpuMs / t.parts.floor.cpuMs, 1).padStart(12)}`,
    );
  row('cycle over the whole 5-minute window', t.parts.full);
  row('steady cycle (1 new sample per series)', t.parts.steady);
  row('add 1 sample per series + evict', t.parts.add);
  row('floor: bare loop over a Float64Array', t.parts.floor);
  console.log(
    `  fired ${fmt(t.fired)} alerts in the first cycle; peak RSS ${fmt(t.peakRssMb)} MB after the cycles (${fmt(r.maxRssMb)} MB with the floor's array);`,
  );
  console.log(
    `  bytes per series: ${fmt(t.bytesPerSeries)} heap (${fmt(t.typedBytesPerSeries)} in typed arrays), ${fmt(t.rssBytesPerSeries)} RSS`,
  );
  console.log(
    'Targets (issue 12): a cycle under 1 s, peak RSS under 600 MB. Wall time is shared; cpu is this process.',
  );
}
if (!only || only === 'ingest') ingest({ root, work, fmt });
if (!only || only === 'day') {
  // bench/day.js runs the day in one process on an injected clock, into a SQLite file under work/.
  const r = measure('day', ['--expose-gc', path.join(root, 'bench', 'day.js'), path.join(work, 'day')]);
  const t = r.timed;
  console.log(
    `\na simulated day (issue 12): ${fmt(t.devices)} devices x ${fmt(t.cycles)} one-minute cycles, ${fmt(t.samples)} samples; collection is fake (generated in-process, no SSH): this measures storage and evaluation`,
  );
  console.log(
    `  database growth per day ${fmt(t.growthBytes / 1048576, 1)} MB (${fmt(t.bytesPerSample, 1)} bytes per sample, indexes included)`,
  );
  const flat = t.rss[1000] / t.rss[100];
  console.log(
    `  RSS at cycle 100 ${fmt(t.rss[100], 1)} MB, cycle 1,000 ${fmt(t.rss[1000], 1)} MB (${fmt(flat, 3)}x), cycle ${fmt(t.cycles)} ${fmt(t.rss[t.cycles], 1)} MB; peak ${fmt(r.maxRssMb)} MB`,
  );
  console.log(
    `  a cycle: median ${fmt(t.cycleMedianMs, 1)} ms, p99 ${fmt(t.cycleP99Ms, 1)} ms; the day ${fmt(t.timedMs / 1000, 1)} s wall, ${fmt(t.cpuMs / 1000, 1)} s cpu`,
  );
  console.log(
    `  alerts fired ${fmt(t.fired)}, resolved ${fmt(t.resolved)}; rows: Alerts ${fmt(t.alertRows)}, AuditLog ${fmt(t.auditRows)}, Actions ${fmt(t.actionRows)}`,
  );
  console.log(
    'Targets (issue 12): RSS flat (cycle 1,000 within 10% of cycle 100); no Actions row from collection.',
  );
}

if (!only || only === 'storm') {
  // bench/storm.js: 10,000 alerts in one cycle through the outbox to a loopback receiver (tsx loads
  // the tests' receiver, which runs in the same process as the deliverer).
  const r = measure('storm', [
    '--import',
    'tsx',
    path.join(root, 'bench', 'storm.js'),
    path.join(work, 'storm'),
  ]);
  const { off, on } = r.timed;
  console.log(
    `
an alert storm (issue 13): ${fmt(off.alerts)} alerts fire in one cycle; each raise writes its outbox rows in its transaction; delivered through the webhook sender to a loopback receiver in the same process`,
  );
  console.log(
    `  grouping off: ${fmt(off.notifications)} notifications, raised and owed in ${fmt(off.raiseMs / 1000, 1)} s, delivered in ${fmt(off.deliverMs / 1000, 1)} s; lost ${fmt(off.lost)}, duplicates by idempotency key ${fmt(off.duplicates)}`,
  );
  console.log(
    `  grouping on (groupWait 30s, 5 monitors): ${fmt(on.notifications)} messages carrying ${fmt(on.alertsInMessages)} alerts, delivered in ${fmt(on.deliverMs / 1000, 1)} s; lost ${fmt(on.lost)}; peak RSS ${fmt(r.maxRssMb)} MB`,
  );
}

if (!only || only === 'replay') {
  console.log(
    '\nthreshold replay in rmm plan (issue 13): one changed monitor (cpu.percent > 90 -> 80, for 3m)',
  );
  const input = replayInput({ work, cli });
  const days = Number.parseInt(REPLAY_FLAG, 10);
  const inProcess = measure('replay', [
    path.join(root, 'bench', 'replay-child.js'),
    path.join(input.dataDir, 'devices.db'),
    days,
  ]);
  const t = inProcess.timed;
  if (t.samplesRead !== input.rows || t.rows !== input.rows)
    throw new Error(`replay: read ${t.samplesRead} samples (floor ${t.rows}), expected ${input.rows}`);
  const plan = (label, ...flags) =>
    measure(label, [cli, 'plan', '-f', input.changed, '--data-dir', input.dataDir, ...flags]);
  const withReplay = expectLine(
    plan(`rmm plan --replay ${REPLAY_FLAG}`, '--replay', REPLAY_FLAG),
    'bench/cpu-high: would have fired',
  );
  const without = expectLine(plan('rmm plan --no-replay', '--no-replay'), 'Plan: 0 to add, 1 to change');
  console.log(
    `  ${fmt(input.devices)} devices x ${fmt(input.rows / input.devices)} one-minute samples = ${fmt(input.rows)} rows of the covered series`,
  );
  console.log(
    `  ${'measurement'.padEnd(52)} ${'wall s'.padStart(8)} ${'cpu s'.padStart(8)} ${'rows/s'.padStart(11)} ${'peak RSS MB'.padStart(12)} ${'x floor cpu'.padStart(12)}`,
  );
  // rows/s only for what reads the rows; a part's RSS is the process's peak so far.
  const row = (label, part, rss, reads = true) =>
    console.log(
      `  ${label.padEnd(52)} ${fmt(part.wallMs / 1000, 2).padStart(8)} ${fmt(part.cpuMs / 1000, 2).padStart(8)} ${(reads ? fmt(input.rows / (part.wallMs / 1000)) : '').padStart(11)} ${(rss === undefined ? '' : fmt(rss)).padStart(12)} ${fmt(part.cpuMs / t.parts.floor.cpuMs, 2).padStart(12)}`,
    );
  row('floor: iterate the same rows, same index ranges', t.parts.floor, t.parts.floor.peakRssMb);
  row('floor: SELECT count(*) over the window', t.parts.count, undefined, false);
  row(
    `plan's monitor changes (stored state, ${fmt(input.devices)} devices)`,
    t.parts.changes,
    undefined,
    false,
  );
  row('replayPlan: read + evaluate (in-process)', t.parts.replay, t.parts.replay.peakRssMb);
  row(`rmm plan --replay ${REPLAY_FLAG} (whole command)`, withReplay, withReplay.maxRssMb);
  row('rmm plan --no-replay (whole command)', without, without.maxRssMb, false);
  const m = t.monitor;
  console.log(
    `  bench/cpu-high: would have fired ${fmt(m.planned.alerts)} alerts on ${fmt(m.planned.devices)} devices (now: ${fmt(m.now.alerts)} on ${fmt(m.now.devices)}); first floor pass ${fmt(t.parts.floorFirst.wallMs / 1000, 2)} s, second ${fmt(t.parts.floorSecond.wallMs / 1000, 2)} s`,
  );
  console.log(
    `  The input is kept in bench/.work/replay while its samples lie in the last ${REPLAY_FLAG}; peak RSS of a part is the process's peak so far (the floor runs first).`,
  );
}
