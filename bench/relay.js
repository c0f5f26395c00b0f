// The relay benchmark (issue 14): `rmm exec -- true` on 1,000 devices that all point at one real
// OpenSSH server on 127.0.0.1, THROUGH a relay (a Relay, a Site naming it, the devices in the site;
// Debian's nats-server with JetStream on loopback with the authorization `rmm relay config`
// generates; `rmm relay` as its own long-lived process with its own data dir) against `rmm exec`
// direct on the same 1,000 device declarations (a site without a relay, in a second data dir), in
// the same run, interleaved, ROUNDS times each. Every run is verified (exit 0, every action
// Succeeded); every run is bounded in time; the sshd, nats-server and the relay are stopped by pid
// at the end, whatever happened. Figures are printed, never asserted.
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNatsServer } from '../test/helpers/nats-server.ts';
import { startSshd } from '../test/helpers/sshd.ts';
import { busyTicks, cpuTicks, sshdIdle, ticksToMs } from './proc.js';

const DEVICES = 1000;
const ROUNDS = 3;
const WIDTH = 200;
const RELAY = 'relay-alpha';
const NATS_SERVER = '/usr/sbin/nats-server';
/** A run's time bound: a direct run takes 10 to 20 s here. */
const RUN_BUDGET_MS = 120_000;
const LABEL = 24;

export async function relay({ root, work, cli, fmt }) {
  for (const [file, pkg] of [
    ['/usr/sbin/sshd', 'openssh-server'],
    [NATS_SERVER, 'nats-server'],
  ]) {
    if (!existsSync(file)) throw new Error(`relay benchmark: ${file} is missing (apt-get install ${pkg})`);
  }
  const dir = path.join(work, 'relay');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const passwords = { console: 'bench-console-password', relay: 'bench-relay-password' };
  let sshd;
  let nats;
  let agent;
  try {
    sshd = await startSshd();
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(sshd.knownHostsPath, path.join(home, '.ssh', 'known_hosts'));
    // The console and the relay share this HOME (known_hosts) and allow the sshd's client key.
    const env = {
      ...process.env,
      HOME: home,
      RMM_ACTOR: 'bench',
      NO_COLOR: '1',
      RMM_CREDENTIAL_DIRS: path.dirname(sshd.clientKeyPath),
      RMM_NATS_PASSWORD: passwords.console,
    };
    const rmm = rmmSync(cli, env);
    const { relayData, directData, declareRelayUrl } = declare(dir, rmm, sshd);
    // The authorization depends on the Relays only, not on their URL: generated before NATS starts.
    const authorization = rmm('relay', 'config', '--data-dir', relayData);
    nats = await startNatsServer({
      config: authorization,
      env: {
        RMM_NATS_CONSOLE_PASSWORD: passwords.console,
        [`RMM_NATS_${RELAY.toUpperCase().replaceAll('-', '_')}_PASSWORD`]: passwords.relay,
      },
    });
    declareRelayUrl(nats.url);
    agent = startRelay(dir, cli, env, nats.url, passwords.relay);
    const ctx = { dir, env, cli, root, sshd, nats, agent, relayData, directData };

    // Unmeasured warm-up: the first opening of the route creates the streams and consumers (the relay
    // waits for its consumer until then), and page caches fill.
    const warmUp = [
      await run(ctx, 'relay', 'warm-up through the relay', 'name=fan-0000*'),
      await run(ctx, 'direct', 'warm-up direct', 'name=fan-0000*'),
    ];

    const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
    const runs = { direct: [], relay: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['direct', 'relay'] : ['relay', 'direct'];
      for (const which of order) runs[which].push(await run(ctx, which, `rmm exec ${which}`, 'name=*'));
    }
    report({ runs, warmUp, fmt, sshd, nats, agent, uptime });
  } finally {
    if (agent) await agent.stop();
    await nats?.remove();
    await sshd?.stop();
  }
}

const rmmSync =
  (cli, env) =>
  (...args) => {
    try {
      return execFileSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 120_000 });
    } catch (error) {
      throw new Error(`rmm ${args.join(' ')}: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  };

/**
 * The same 1,000 Device documents in two data dirs: one whose site alpha names the Relay, one whose
 * site has none. The Relay's URL is known once NATS listens: declareRelayUrl applies it then.
 */
function declare(dir, rmm, sshd) {
  const transport = `{type: ssh, port: ${sshd.port}, user: ${sshd.user}, credentialRef: "file:${sshd.clientKeyPath}"}`;
  const docs = [];
  for (let i = 0; i < DEVICES; i++) {
    docs.push(
      `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: fan-${String(i).padStart(5, '0')}}\nspec:\n  site: alpha\n  address: 127.0.0.1\n  os: linux\n  transport: ${transport}\n`,
    );
  }
  const relayYaml = (url) =>
    `apiVersion: rmm/v1\nkind: Relay\nmetadata: {name: ${RELAY}}\nspec:\n  nats: {servers: ["${url}"], user: rmm-console, credentialRef: env:RMM_NATS_PASSWORD}\n  actionExpiry: 1h\n`;
  const site = (relayName) =>
    `apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {${relayName ? `relay: ${relayName}` : ''}}\n`;
  const apply = (name, files) => {
    const input = path.join(dir, `input-${name}`);
    mkdirSync(input, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(input, file), text);
    const dataDir = path.join(dir, `data-${name}`);
    if (!existsSync(dataDir)) rmm('init', '--data-dir', dataDir);
    const out = rmm('apply', '-f', input, '--auto-approve', '--data-dir', dataDir);
    if (!out.includes('Apply complete:')) throw new Error(`rmm apply (${name}): ${out}`);
    return dataDir;
  };
  const devices = docs.join('---\n');
  const directData = apply('direct', { 'site.yaml': site(), 'devices.yaml': devices });
  const placeholder = 'nats://127.0.0.1:4222';
  const relayFiles = {
    'relay.yaml': relayYaml(placeholder),
    'site.yaml': site(RELAY),
    'devices.yaml': devices,
  };
  const relayData = apply('relay', relayFiles);
  return {
    relayData,
    directData,
    declareRelayUrl: (url) => apply('relay', { ...relayFiles, 'relay.yaml': relayYaml(url) }),
  };
}

/** `rmm relay` in its own process group, its log in relay.log; stop() is SIGTERM then SIGKILL, by pid. */
function startRelay(dir, cli, env, url, password) {
  const data = path.join(dir, 'relay-data');
  mkdirSync(path.join(data, 'credentials'), { recursive: true, mode: 0o700 });
  const creds = path.join(data, 'credentials', 'nats-password');
  writeFileSync(creds, `${password}\n`, { mode: 0o600 });
  const log = openSync(path.join(dir, 'relay.log'), 'w');
  const profile = process.env.RMM_BENCH_RELAY_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', path.join(dir, 'prof')]
    : [];
  const args = [...profile, cli, 'relay', '--name', RELAY, '--nats', url, '--creds', `file:${creds}`];
  args.push('--data-dir', data, '--concurrency', String(WIDTH));
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: child.pid,
    log: path.join(dir, 'relay.log'),
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!done) {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * One `rmm exec --json` (under report-usage.js, for its own CPU and peak RSS) on the targets; the
 * NDJSON events are read as they come, so the first and last results applied are timed here. The
 * relay's, nats-server's and the sshd's CPU are read from /proc before and after.
 */
async function run(ctx, which, label, target) {
  const { dir, env, cli, root, sshd, nats, agent } = ctx;
  if (!agent.alive()) throw new Error(`${label}: the relay process has exited; its log: ${ctx.agent.log}`);
  await sshdIdle(sshd.pid, label);
  const dataDir = which === 'relay' ? ctx.relayData : ctx.directData;
  const usageFile = path.join(dir, 'usage.json');
  rmSync(usageFile, { force: true });
  const profile = process.env.RMM_BENCH_EXEC_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', path.join(dir, 'prof')]
    : [];
  const args = [...profile, '--import', path.join(root, 'bench', 'report-usage.js'), cli, 'exec', '--json'];
  args.push('--target', target, '--concurrency', String(WIDTH), '--data-dir', dataDir, '--', 'true');
  const before = {
    relay: cpuTicks(agent.pid),
    nats: cpuTicks(nats.pid),
    sshd: cpuTicks(sshd.pid),
    busy: busyTicks(),
  };
  const started = performance.now();
  const startedEpoch = Date.now();
  const child = spawn(process.execPath, args, {
    env: { ...env, RMM_BENCH_REPORT: usageFile },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }, RUN_BUDGET_MS);
  const ends = [];
  let delivered = 0;
  let lastDeliveredAt = started;
  let summary;
  const lines = createInterface({ input: child.stdout });
  const unreadable = [];
  lines.on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      unreadable.push(line);
      return;
    }
    if (event.type === 'action' && event.status === 'Delivered') {
      delivered++;
      lastDeliveredAt = performance.now();
    } else if (event.type === 'action' && isEnd(event.status))
      ends.push({ at: performance.now(), status: event.status });
    else if (event.type === 'summary') summary = event;
  });
  const [code, signal] = await new Promise((resolve) =>
    child.once('close', (c, s) => resolve([c, s])).once('error', (e) => resolve([null, e.message])),
  );
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  await sshdIdle(sshd.pid, label);
  const after = {
    relay: cpuTicks(agent.pid),
    nats: cpuTicks(nats.pid),
    sshd: cpuTicks(sshd.pid),
    busy: busyTicks(),
  };
  const succeeded = ends.filter((e) => e.status === 'Succeeded').length;
  const expected = target === 'name=*' ? DEVICES : undefined;
  if (
    code !== 0 ||
    signal ||
    unreadable.length > 0 ||
    succeeded !== ends.length ||
    (expected !== undefined && succeeded !== expected) ||
    summary?.Succeeded !== succeeded
  ) {
    throw new Error(
      `${label}: exit ${code} ${signal ?? ''}, ${succeeded} Succeeded of ${ends.length} ends (${delivered} Delivered), summary ${JSON.stringify(summary)}\n${unreadable.slice(0, 5).join('\n')}\n${stderr.slice(-2000)}`,
    );
  }
  if (which === 'relay' && delivered !== succeeded)
    throw new Error(`${label}: ${delivered} Delivered events for ${succeeded} results`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8'));
  const relayed = which === 'relay' ? relayTimes(agent.log, startedEpoch) : undefined;
  const first = ends[0]?.at ?? started;
  const last = ends.at(-1)?.at ?? started;
  return {
    label,
    wallMs,
    execCpuMs: usage.cpuMs,
    execRssMb: usage.maxRssMb,
    relayCpuMs: ticksToMs(after.relay - before.relay),
    natsCpuMs: ticksToMs(after.nats - before.nats),
    sshdCpuMs: ticksToMs(after.sshd - before.sshd),
    busyMs: ticksToMs(after.busy - before.busy),
    deliveredMs: lastDeliveredAt - started,
    firstResultMs: first - started,
    // Results applied per second at the console, from the first to the last result event.
    applyRate: ends.length > 1 ? (ends.length - 1) / ((last - first) / 1000) : 0,
    tailMs: wallMs - (last - started),
    relayFirstStartMs: relayed?.firstStartMs ?? Number.NaN,
    // From the relay's last end to the console applying the last result.
    reportLagMs: relayed ? last - started - relayed.lastEndMs : Number.NaN,
  };
}

/** From the relay's log (pino's epoch ms): its first action start and last end since `sinceEpoch`. */
function relayTimes(log, sinceEpoch) {
  let firstStart;
  let lastEnd;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // not a log entry, or the line being written now
    }
    if (entry.time < sinceEpoch) continue;
    if (entry.msg === 'action started') firstStart ??= entry.time;
    if (entry.msg === 'action ended') lastEnd = entry.time;
  }
  if (firstStart === undefined || lastEnd === undefined)
    throw new Error(`the relay's log has no action since the run began: ${log}`);
  return { firstStartMs: firstStart - sinceEpoch, lastEndMs: lastEnd - sinceEpoch };
}

/** A process's peak resident set so far (VmHWM), in MB. */
function peakRssMb(pid) {
  const kb = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** Anything but a JSON log line in the relay's log (a Node warning, say) is worth a look. */
function warnings(log) {
  const odd = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('{'));
  return odd.length
    ? [`  the relay's log has ${odd.length} line(s) that are not log entries, first: ${odd[0]}`]
    : [];
}

const isEnd = (status) =>
  ['Succeeded', 'Failed', 'TimedOut', 'Unreachable', 'Expired', 'Cancelled'].includes(status);

function stats(runs, key) {
  const values = runs.map((r) => r[key]).sort((a, b) => a - b);
  return { median: values[Math.floor(values.length / 2)], min: values[0], max: values.at(-1) };
}

function report({ runs, warmUp, fmt, sshd, nats, agent, uptime }) {
  const s = (n) => fmt(n / 1000, 2);
  const cell = (which, key, f) => {
    const { median, min, max } = stats(runs[which], key);
    return Number.isNaN(median) ? '' : `${f(median)} (${f(min)}-${f(max)})`;
  };
  console.log(
    `\nrelay (issue 14): rmm exec -- true on ${fmt(DEVICES)} devices, all one sshd on 127.0.0.1:${sshd.port} (pid ${sshd.pid}), through the relay (nats-server pid ${nats.pid}, rmm relay pid ${agent.pid}) and direct, ${ROUNDS} interleaved runs each; median (min-max)`,
  );
  const rows = [
    ['wall s', 'wallMs', s],
    ['rmm exec cpu s', 'execCpuMs', s],
    ['rmm relay cpu s', 'relayCpuMs', s],
    ['nats-server cpu s', 'natsCpuMs', s],
    ['sshd cpu s', 'sshdCpuMs', s],
    ['all delivered s', 'deliveredMs', s],
    ['relay first start s', 'relayFirstStartMs', s],
    ['first result s', 'firstResultMs', s],
    ['results applied/s', 'applyRate', (n) => fmt(n)],
    ['relay last end to applied s', 'reportLagMs', s],
    ['last result to exit s', 'tailMs', s],
    ['rmm exec peak RSS MB', 'execRssMb', (n) => fmt(n)],
  ];
  console.log(`  ${''.padEnd(LABEL)} ${'direct'.padStart(26)} ${'through the relay'.padStart(26)}`);
  for (const [label, key, f] of rows)
    console.log(
      `  ${label.padEnd(LABEL)} ${cell('direct', key, f).padStart(26)} ${cell('relay', key, f).padStart(26)}`,
    );
  const ratios = runs.relay.map((r, i) => r.wallMs / runs.direct[i].wallMs);
  const ratio = stats(runs.relay, 'wallMs').median / stats(runs.direct, 'wallMs').median;
  const cpu = (r) => r.execCpuMs + r.relayCpuMs + r.natsCpuMs;
  console.log(
    [
      `  wall time, relay / direct: ${fmt(ratio, 2)} (medians); per round ${ratios.map((x) => fmt(x, 2)).join(', ')}`,
      `  rmm's CPU (exec + relay + nats-server), relay / direct: ${fmt(
        stats(
          runs.relay.map((r) => ({ c: cpu(r) })),
          'c',
        ).median / stats(runs.direct, 'execCpuMs').median,
        2,
      )}`,
      `  rmm relay peak RSS ${fmt(peakRssMb(agent.pid))} MB (VmHWM, the whole bench); nats-server ${fmt(peakRssMb(nats.pid))} MB`,
      `  warm-up (10 devices, not in the table): through the relay ${s(warmUp[0].wallMs)} s (the first opening creates the streams and consumers, which the idle relay waits for), direct ${s(warmUp[1].wallMs)} s`,
      ...warnings(agent.log),
      `  load before the runs: ${uptime}; ${os.cpus().length} cores shared by the clients, the sshd and nats-server`,
      '  Each run: rmm exec --json --concurrency 200, exit 0 and every action Succeeded (through the relay: each one',
      '  Delivered, then reported by the relay and applied). The relay, nats-server and sshd CPU: /proc/PID/stat',
      '  (with reaped children) before and after each run; rmm exec: its own process (report-usage.js).',
      '  results applied/s: result events read from rmm exec, first to last; all delivered (the last Delivered',
      '  event) and first result: from the spawn (Node start-up, oclif, the database: about 1 s of each).',
      'Target (issue 14): through the relay within 1.3x of rmm exec direct in wall time.',
    ].join('\n'),
  );
}
