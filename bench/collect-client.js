// One client of the collection benchmark (bench/collect.js), in a fresh process: ROUNDS rounds of
// the metric collector on N devices that are all one sshd, a window of WIDTH, and per round the wall
// time and this process's CPU. Prints {"rounds": [{wallMs, cpuMs, ok}], "setupMs"} on stdout.
//
//   node --import tsx bench/collect-client.js MODE PORT USER KEYFILE KNOWN_HOSTS N ROUNDS WIDTH
//     MODE  kept:      rmm's session pool and collect round, sessions kept open between rounds
//           reconnect: rmm's collect round on a fresh pool each round (a handshake per device per round)
//           ssh2:      bare ssh2 exec of the same command and stdin on connections opened before round 1
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { createSshTransport } from '../plugins/ssh/src/transport.ts';
import { collectRound } from '../src/monitoring/collect-round.ts';
import { collectorInvocation } from '../src/monitoring/collector-scripts.ts';
import { SessionPool } from '../src/monitoring/session-pool.ts';
import { TRANSPORT_API_VERSION, TransportError } from '../src/plugin/api.ts';
import { SPECS } from '../test/monitoring/specs.ts';

const [mode, port, user, keyFile, knownHosts, n, rounds, width] = process.argv.slice(2);
const count = Number(n);
const request = {
  metrics: [
    { metric: 'disk.used_percent', instances: ['/'] },
    { metric: 'memory.used_percent', instances: 'all' },
    { metric: 'uptime.seconds', instances: 'all' },
  ],
};
const expectedSamples = count * 3;

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

async function timed(run) {
  const cpu = cpuMs();
  const started = performance.now();
  const ok = await run();
  return { wallMs: performance.now() - started, cpuMs: cpuMs() - cpu, ok };
}

async function rmm(keep) {
  const transport = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
  const devices = Array.from({ length: count }, (_, i) => ({
    device: {
      name: `dev-${String(i).padStart(4, '0')}`,
      host: '127.0.0.1',
      os: 'linux',
      site: 'main',
      groups: [],
      labels: {},
      transport: { type: 'ssh', port: Number(port), user, credentialRef: `file:${keyFile}`, knownHosts },
    },
    request,
    measures: { reachable: false, ports: [] },
  }));
  const newPool = () =>
    new SessionPool({
      transports: new Map([['ssh', transport]]),
      credentials: { envPrefixes: ['RMM_'], dirs: [process.env.RMM_CREDENTIAL_DIRS] },
      now: Date.now,
      maxOpen: count,
    });
  let pool = newPool();
  const results = [];
  for (let r = 0; r < Number(rounds); r++) {
    results.push(
      await timed(async () => {
        if (!keep && r > 0) {
          await pool.close();
          pool = newPool();
        }
        const result = await collectRound(devices, {
          pool,
          specs: SPECS,
          now: Date.now,
          concurrency: Number(width),
          deviceTimeoutMs: 60_000,
        });
        const reached = result.reachability.filter((x) => x.reachable).length;
        return reached === count && result.samples.length === expectedSamples && result.warnings.length === 0
          ? true
          : `${reached} reached, ${result.samples.length} samples, warnings: ${JSON.stringify(result.warnings.slice(0, 3))}`;
      }),
    );
  }
  await pool.close();
  return { rounds: results };
}

/** Bare ssh2: connect every device first (not timed), then exec the collector on each, per round. */
async function bare() {
  const privateKey = readFileSync(keyFile);
  // A known_hosts line: HOST TYPE BLOB COMMENT.
  const hostKey = Buffer.from(readFileSync(knownHosts, 'utf8').trim().split(/\s+/)[2], 'base64');
  const { command, stdin } = await collectorInvocation('linux', request);
  const connect = () =>
    new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('error', reject);
      client.on('ready', () => resolve(client));
      client.connect({
        host: '127.0.0.1',
        port: Number(port),
        username: user,
        privateKey,
        readyTimeout: 60_000,
        hostVerifier: (blob) => blob.equals(hostKey),
      });
      client.setNoDelay(true);
    });
  const exec = (client) =>
    new Promise((resolve, reject) => {
      client.exec(command, (error, channel) => {
        if (error) return reject(error);
        const out = [];
        let code;
        channel.on('data', (chunk) => out.push(chunk));
        channel.stderr.resume();
        channel.on('exit', (c) => {
          code = c;
        });
        channel.on('close', () => resolve(code === 0 && Buffer.concat(out).includes('#end')));
        channel.end(stdin);
      });
    });
  const window = async (items, work) => {
    let next = 0;
    const out = [];
    await Promise.all(
      Array.from({ length: Math.min(Number(width), items.length) }, async () => {
        while (next < items.length) {
          const i = next++;
          out[i] = await work(items[i]);
        }
      }),
    );
    return out;
  };
  const setupStarted = performance.now();
  const clients = await window(
    Array.from({ length: count }, (_, i) => i),
    () => connect(),
  );
  const setupMs = performance.now() - setupStarted;
  const results = [];
  for (let r = 0; r < Number(rounds); r++)
    results.push(
      await timed(async () => {
        const ok = await window(clients, exec);
        return ok.every(Boolean) || `${ok.filter(Boolean).length} of ${count} answered`;
      }),
    );
  for (const client of clients) client.end();
  return { rounds: results, setupMs };
}

const result = mode === 'ssh2' ? await bare() : await rmm(mode === 'kept');
process.stdout.write(JSON.stringify(result));
// ssh2 clients may linger on their sockets' close: the figures are written, the process ends.
process.exit(0);
