import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { execa, type ResultPromise } from 'execa';
import { repoRoot, runCli } from './cli.js';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { createRemoteSite, type RemoteSite } from './netns.js';
import { addRelayConsumers, type ConsoleSide, consoleSide } from './relay-streams.js';
import { queryFile } from './sqlite.js';
import { type Sshd, startSshd } from './sshd.js';

/**
 * The whole relay path for real, for the end-to-end tests: the console (`rmm` in this namespace,
 * its own data dir) applies a Relay, a Site naming it and Devices; nats-server listens on the
 * console's side of the link with the authorization `rmm relay config` printed from them; the relay
 * agent runs `rmm relay` in the site namespace; the endpoints' sshd runs in the endpoint namespace,
 * which the console cannot route to. Every device command the tests send appends a token to
 * `ranFile` (the endpoint's own record of what ran).
 */
export const PASSWORDS = {
  RMM_NATS_CONSOLE_PASSWORD: 'console-e2e-pw-41f2',
  RMM_NATS_RELAY_ALPHA_PASSWORD: 'alpha-e2e-pw-9c03',
  RMM_NATS_RELAY_BETA_PASSWORD: 'beta-e2e-pw-6d18',
};
export const RELAY_STOPPED = 'the relay stopped while this ran; it may or may not have completed';

export interface RelayWorld {
  site: RemoteSite;
  sshd: Sshd;
  nats: NatsServer;
  /** nats://<console's veth address>:<port>, as the Relay's spec.nats and the relay use it. */
  natsUrl: string;
  cwd: string;
  /** The console's database. */
  db: string;
  /** The relay's --data-dir (its store; its NATS password under credentials/). */
  relayDataDir: string;
  /** The endpoint's record: one line per command that ran. */
  ranFile: string;
  /** The device names the site's relay reaches (at the endpoint's address). */
  relayDevices: string[];
  rmm(...args: string[]): ReturnType<typeof runCli>;
  /** `rmm` as a running process (to kill it). */
  spawnRmm(...args: string[]): ResultPromise;
  /** `rmm relay` for relay-alpha in the site namespace; its stderr is kept in `log()`. */
  startRelay(extra?: string[]): RelayProcess;
  /** The lines of ranFile. */
  ran(): Promise<string[]>;
  rows(where?: string): ActionRow[];
  /** Connects as a NATS user of the authorization (relay-beta, say) to act as it. */
  natsAs(user: string, pass: string): Promise<NatsConnection>;
  remove(): Promise<void>;
}

export interface RelayProcess {
  process: ResultPromise;
  log(): string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a service stop), and the exit code. */
  stop(): Promise<number | undefined>;
}

export interface ActionRow {
  ActionId: string;
  DeviceName: string;
  Status: string;
  Result: string | null;
}

export async function relayWorld(
  options: {
    /** Devices at the remote site reached through relay-alpha (alpha-1...), default 3. */
    devices?: number;
    /** Devices the console reaches itself on a loopback sshd (home-1...), default 1. */
    homeDevices?: number;
    ackWaitMs?: number;
  } = {},
): Promise<RelayWorld> {
  const site = await createRemoteSite();
  const cleanups: Array<() => Promise<unknown>> = [() => site.remove()];
  try {
    const sshd = await startSshd({ netns: { name: site.endpointNs, address: site.endpointAddress } });
    cleanups.unshift(() => sshd.stop());
    // A device the console reaches itself (site home, no relay): what a direct exec shows.
    const localSshd = await startSshd();
    cleanups.unshift(() => localSshd.stop());
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-e2e-'));
    cleanups.unshift(() => rm(cwd, { recursive: true, force: true }));
    const home = path.join(cwd, 'home');
    mkdirSync(path.join(home, '.ssh'), { recursive: true });
    copyFileSync(sshd.knownHostsPath, path.join(home, '.ssh', 'known_hosts'));
    appendFileSync(path.join(home, '.ssh', 'known_hosts'), readFileSync(localSshd.knownHostsPath));
    const env = {
      HOME: home,
      RMM_CREDENTIAL_DIRS: `${path.dirname(sshd.clientKeyPath)}:${path.dirname(localSshd.clientKeyPath)}`,
      RMM_NATS_PASSWORD: PASSWORDS.RMM_NATS_CONSOLE_PASSWORD,
    };
    const rmm = (...args: string[]) => runCli(args, { cwd, env });
    const relayDevices = Array.from({ length: options.devices ?? 3 }, (_, i) => `alpha-${i + 1}`);
    const transport = `type: ssh, port: ${sshd.port}, user: ${sshd.user}, credentialRef: "file:${sshd.clientKeyPath}"`;
    const yaml = (natsUrl: string) =>
      [
        relayYaml('relay-alpha', natsUrl),
        relayYaml('relay-beta', natsUrl),
        'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {relay: relay-alpha}',
        'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: beta}\nspec: {relay: relay-beta}',
        'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: home}\nspec: {}',
        ...Array.from({ length: options.homeDevices ?? 1 }, (_, i) =>
          deviceYaml(
            `home-${i + 1}`,
            '127.0.0.1',
            `{type: ssh, port: ${localSshd.port}, user: ${localSshd.user}, credentialRef: "file:${localSshd.clientKeyPath}"}`,
          ),
        ),
        ...relayDevices.map((name) => deviceYaml(name, site.endpointAddress, `{${transport}}`)),
        deviceYaml('alpha-direct', site.endpointAddress, `{${transport}, via: direct}`),
      ].join('\n---\n');
    const apply = async (natsUrl: string) => {
      writeFileSync(path.join(cwd, 'fleet.yaml'), `${yaml(natsUrl)}\n`);
      const applied = await rmm('apply', '-f', 'fleet.yaml', '--auto-approve');
      if (applied.exitCode !== 0) throw new Error(`rmm apply failed: ${applied.stderr}`);
    };
    const init = await rmm('init');
    if (init.exitCode !== 0) throw new Error(`rmm init failed: ${init.stderr}`);
    // The authorization comes from the applied Relays; the server's port is known once it runs,
    // so the Relays are applied first with a placeholder and again with the real address.
    await apply(`nats://${site.consoleAddress}:4222`);
    const config = await rmm('relay', 'config');
    if (config.exitCode !== 0) throw new Error(`rmm relay config failed: ${config.stderr}`);
    const nats = await startNatsServer({ host: site.consoleAddress, config: config.stdout, env: PASSWORDS });
    cleanups.unshift(() => nats.remove());
    const natsUrl = nats.url;
    await apply(natsUrl);
    if (options.ackWaitMs) {
      // An operator may create the consumers with their own settings (the console leaves them):
      // a short ack wait brings back within a test what a killed relay held.
      const admin = await consoleSideAs(natsUrl, 'rmm-console', PASSWORDS.RMM_NATS_CONSOLE_PASSWORD);
      await addRelayConsumers(admin.nc, 'relay-alpha', options.ackWaitMs);
      await admin.close();
    }
    // The console opens each declared relay's queue (streams and consumers) on its first collect.
    const opened = await rmm('actions', 'collect');
    if (opened.exitCode !== 0) throw new Error(`rmm actions collect failed: ${opened.stderr}`);

    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-e2e-data-'));
    cleanups.unshift(() => rm(dataDir, { recursive: true, force: true }));
    mkdirSync(path.join(dataDir, 'credentials'), { mode: 0o700 });
    const passwordFile = path.join(dataDir, 'credentials', 'nats-password');
    writeFileSync(passwordFile, `${PASSWORDS.RMM_NATS_RELAY_ALPHA_PASSWORD}\n`, { mode: 0o600 });
    const relays: RelayProcess[] = [];
    cleanups.unshift(async () => {
      for (const r of relays) await r.kill();
    });
    const bin = path.join(repoRoot, 'bin', 'run.js');
    const ranFile = path.join(cwd, 'ran.txt');
    const cliEnv = { ...process.env, ...env, NODE_ENV: undefined, RMM_DATA_DIR: undefined, NO_COLOR: '1' };

    return {
      site,
      sshd,
      nats,
      natsUrl,
      cwd,
      db: path.join(cwd, 'data', 'devices.db'),
      relayDataDir: dataDir,
      ranFile,
      relayDevices,
      rmm,
      spawnRmm: (...args) =>
        execa('node', [bin, ...args], { cwd, env: cliEnv, extendEnv: false, reject: false, stdin: 'ignore' }),
      startRelay(extra = []) {
        const child = execa(
          'ip',
          [
            ...site.inNs(site.siteNs).slice(1),
            'node',
            bin,
            'relay',
            '--name',
            'relay-alpha',
            '--nats',
            natsUrl,
            '--creds',
            `file:${passwordFile}`,
            '--data-dir',
            dataDir,
            ...extra,
          ],
          { cwd, env: cliEnv, extendEnv: false, reject: false, stdin: 'ignore', buffer: false },
        );
        let log = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          log += chunk.toString();
        });
        child.stdout?.on('data', (chunk: Buffer) => {
          log += chunk.toString();
        });
        const signal = async (name: NodeJS.Signals) => {
          if (child.exitCode === null && child.pid !== undefined) {
            try {
              process.kill(child.pid, name);
            } catch {}
          }
          return (await child).exitCode;
        };
        const relay: RelayProcess = {
          process: child,
          log: () => log,
          kill: async () => {
            await signal('SIGKILL');
          },
          stop: () => signal('SIGTERM'),
        };
        relays.push(relay);
        return relay;
      },
      async ran() {
        const text = await readFile(ranFile, 'utf8').catch(() => '');
        return text.split('\n').filter((line) => line !== '');
      },
      rows: (where = '1') =>
        queryFile<ActionRow>(
          path.join(cwd, 'data', 'devices.db'),
          `SELECT a.ActionId, d.Hostname AS DeviceName, a.Status, a.Result FROM Actions a JOIN Devices d ON d.DeviceId = a.DeviceId WHERE ${where} ORDER BY d.Hostname, a.CreatedAt`,
        ),
      natsAs: (user, pass) =>
        connect({ servers: natsUrl, user, pass, inboxPrefix: `_INBOX_${user}`, name: `rmm-test ${user}` }),
      async remove() {
        for (const cleanup of cleanups) await cleanup().catch(() => {});
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    throw error;
  }
}

function consoleSideAs(url: string, user: string, pass: string): Promise<ConsoleSide> {
  return consoleSide(url, [], { user, pass });
}

function relayYaml(name: string, natsUrl: string): string {
  return `apiVersion: rmm/v1
kind: Relay
metadata: {name: ${name}}
spec:
  nats: {servers: ["${natsUrl}"], user: rmm-console, credentialRef: env:RMM_NATS_PASSWORD}
  actionExpiry: 1h`;
}

function deviceYaml(name: string, address: string, transport: string): string {
  const site = name.split('-')[0];
  return `apiVersion: rmm/v1
kind: Device
metadata: {name: ${name}}
spec: {site: ${site}, address: ${address}, os: linux, transport: ${transport}}`;
}
