// The WinRM benchmark (issue 5): `rmm exec -- true` on N device records that all point at the
// WS-Management test peer (test/helpers/winrm-peer) on 127.0.0.1 over HTTP with NTLM message
// encryption, beside the floor: the WinRM plugin driven bare by bench/winrm-bare.js, same N, same
// window. Each run gets a fresh peer in its own process, so its stats (shells opened, connections)
// are that run's; the peer runs `true` through the local shell (a process per command), as Windows
// would start cmd.exe. Every run is bounded in time and every process is stopped by pid.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SIZES = [500];
const WIDTH = 500;
const USER = 'administrator';
const PASSWORD = 'Bench-Pa55!';
const LABEL = 26;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export async function winrm({ root, work, cli, fmt }) {
  const dir = path.join(work, 'winrm');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ctx = { root, dir, reportUsage: path.join(root, 'bench', 'report-usage.js') };
  console.log(
    `\nwinrm: rmm exec -- true on N devices, all one WS-Management peer on 127.0.0.1 (HTTP, NTLM + encryption), ${WIDTH} at a time`,
  );
  console.log(
    `  ${'measurement'.padEnd(LABEL)} ${'wall s'.padStart(7)} ${'client cpu s'.padStart(12)} ${'peer cpu s'.padStart(10)} ${'actions/s'.padStart(9)} ${'peak RSS MB'.padStart(11)} ${'shells'.padStart(6)} ${'wall x bare'.padStart(11)} ${'cpu x bare'.padStart(10)}`,
  );
  // One port for every run: the device records name it; each run starts a fresh peer there.
  const port = await freePort();
  for (const n of SIZES) {
    const bare = await run(ctx, `plugin bare, N=${fmt(n)}`, n, port, [
      path.join(root, 'bench', 'winrm-bare.js'),
      String(port),
      USER,
      PASSWORD,
      String(n),
      String(WIDTH),
      'true',
    ]);
    if (JSON.parse(bare.out).succeeded !== n) throw new Error(`bare: ${bare.out}`);
    const dataDir = declare(ctx, cli, n, port);
    const rmm = await run(ctx, `rmm exec, N=${fmt(n)}`, n, port, [
      cli,
      ...['exec', '--target', 'name=*', '--concurrency', String(WIDTH), '--data-dir', dataDir, '--', 'true'],
    ]);
    const expected = `Exec complete: ${n} succeeded, 0 failed, 0 timedout, 0 unreachable, 0 expired, 0 cancelled.`;
    if (!rmm.out.includes(expected))
      throw new Error(`rmm exec: expected "${expected}":\n${rmm.out.slice(-2000)}`);
    for (const r of [bare, rmm]) {
      const ratio = (key) => (r === bare ? '' : fmt(r[key] / bare[key], 2));
      console.log(
        `  ${r.label.padEnd(LABEL)} ${fmt(r.wallMs / 1000, 2).padStart(7)} ${fmt(r.cpuMs / 1000, 2).padStart(12)} ${fmt(r.peerCpuMs / 1000, 2).padStart(10)} ${fmt(n / (r.wallMs / 1000)).padStart(9)} ${fmt(r.maxRssMb).padStart(11)} ${String(r.stats.shellsCreated).padStart(6)} ${ratio('wallMs').padStart(11)} ${ratio('cpuMs').padStart(10)}`,
      );
    }
  }
  console.log(
    [
      '\nEach action: TCP connect, NTLM handshake (2 empty POSTs), then sealed SOAP: Create shell, Command,',
      'Send (stdin end), Receive until Done, Signal terminate, Delete shell. shells: shells the peer created',
      '(at most one per device). peer cpu s: the peer process and its reaped children (the `true` processes).',
      `The clients and the peer share ${os.cpus().length} cores: the peer's CPU (Node, plus a process per command) bounds wall time.`,
      'The peer allows 100,000 shells per user here: on Windows each device is its own host with its own limit of 5.',
    ].join('\n'),
  );
}

/** N Windows devices pointing at the peer's port, applied into a fresh data dir (not measured). */
function declare({ dir }, cli, n, port) {
  const input = path.join(dir, `input-${n}`);
  mkdirSync(input, { recursive: true });
  const transport = `{type: winrm, port: ${port}, user: ${USER}, credentialRef: "env:RMM_BENCH_WINRM_PASSWORD"}`;
  const docs = [];
  for (let i = 0; i < n; i++)
    docs.push(
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: win-${String(i).padStart(5, '0')}}\nspec:\n  site: main\n  address: 127.0.0.1\n  os: windows\n  transport: ${transport}\n`,
    );
  writeFileSync(path.join(input, 'devices.yaml'), docs.join('---\n'));
  const dataDir = path.join(dir, `data-${n}`);
  const rmm = (...args) =>
    execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  rmm('init', '--data-dir', dataDir);
  rmm('apply', '-f', input, '--auto-approve', '--data-dir', dataDir);
  return dataDir;
}

function freePort() {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address();
          server.close(() => resolve(port));
        });
      }),
  );
}

/** Starts a fresh peer, runs the measured node script under report-usage.js, stops the peer. */
async function run({ root, dir, reportUsage }, label, n, port, args) {
  const peer = spawn(
    path.join(root, 'node_modules', '.bin', 'tsx'),
    [
      path.join(root, 'test', 'helpers', 'winrm-peer', 'cli.ts'),
      ...['--port', String(port), '--user', `${USER}:${PASSWORD}`, '--max-shells-per-user', '100000'],
      '--until-stdin-closes',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let peerErr = '';
  peer.stderr.on('data', (c) => {
    peerErr += c;
  });
  try {
    const [line] = await Promise.race([
      once(peer.stdout, 'data'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`peer did not start: ${peerErr}`)), 30_000),
      ),
    ]);
    JSON.parse(String(line).split('\n')[0]); // listening
    const report = path.join(dir, 'usage.json');
    rmSync(report, { force: true });
    const peerBefore = cpuTicks(peer.pid);
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', reportUsage, ...args], {
      env: { ...process.env, RMM_BENCH_REPORT: report, RMM_BENCH_WINRM_PASSWORD: PASSWORD, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000 + n * 500);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    const wallMs = performance.now() - started;
    const peerCpuMs = ((cpuTicks(peer.pid) - peerBefore) * 1000) / CLK_TCK;
    if (code !== 0) throw new Error(`${label}: exit ${code}\n${out.slice(-2000)}\n${err.slice(-2000)}`);
    const usage = JSON.parse(readFileSync(report, 'utf8'));
    peer.stdin.end();
    await once(peer, 'exit');
    const stats = JSON.parse(peerErr.trim().split('\n').at(-1));
    return { label, out, wallMs, cpuMs: usage.cpuMs, maxRssMb: usage.maxRssMb, peerCpuMs, stats };
  } finally {
    if (peer.exitCode === null) peer.kill('SIGKILL');
  }
}

/** utime + stime + cutime + cstime of a process, from /proc (the tsx wrapper's node child included). */
function cpuTicks(pid) {
  let total = 0;
  for (const p of [pid, ...children(pid)]) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {}
  }
  return total;
}

function children(pid) {
  try {
    const direct = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    return direct.flatMap((c) => [Number(c), ...children(Number(c))]);
  } catch {
    return [];
  }
}
