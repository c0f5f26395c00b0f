// The collection benchmark (issue 12): the metric collector on N devices that all point at one real
// OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts), ROUNDS rounds, three clients, each in a fresh
// process (bench/collect-client.js), one after the other against the same sshd:
//   kept       rmm's session pool and collect round: sessions opened in round 1 and kept
//   ssh2       bare ssh2 exec of the same command on connections opened before round 1 (the floor)
//   reconnect  rmm's collect round on a fresh pool each round: a handshake per device per round
// Figures printed per round (wall, client CPU); ratios printed, never asserted.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSshd } from '../test/helpers/sshd.ts';

const DEVICES = 500;
const ROUNDS = 10;
const WIDTH = 200;

export async function collect({ root, fmt }) {
  if (!existsSync('/usr/sbin/sshd'))
    throw new Error('collection benchmark: /usr/sbin/sshd is missing (apt-get install openssh-server)');
  const sshd = await startSshd();
  try {
    const env = {
      ...process.env,
      RMM_KNOWN_HOSTS_DIRS: sshd.dir,
      RMM_CREDENTIAL_DIRS: path.dirname(sshd.clientKeyPath),
    };
    const run = (mode) => {
      const child = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(root, 'bench', 'collect-client.js'),
          mode,
          String(sshd.port),
          sshd.user,
          sshd.clientKeyPath,
          sshd.knownHostsPath,
          String(DEVICES),
          String(ROUNDS),
          String(WIDTH),
        ],
        { cwd: root, env, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      );
      if (child.status !== 0) throw new Error(`collect ${mode}: exit ${child.status}\n${child.stderr}`);
      const result = JSON.parse(child.stdout);
      const failed = result.rounds.find((r) => r.ok !== true);
      if (failed) throw new Error(`collect ${mode}: a round did not collect everything: ${failed.ok}`);
      return result;
    };
    const kept = run('kept');
    const bare = run('ssh2');
    const reconnect = run('reconnect');
    // Round 1 of `kept` opens every session: its steady state is rounds 2..ROUNDS.
    const steady = (result) => result.rounds.slice(1);
    const median = (rounds, key) =>
      rounds.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
    const rows = [
      ['rmm, kept open (rounds 2-10)', steady(kept)],
      ['rmm, kept open (round 1)', kept.rounds.slice(0, 1)],
      ['floor: bare ssh2, open conns', bare.rounds],
      ['rmm, reconnect every round', reconnect.rounds],
    ].map(([label, rounds]) => ({ label, wallMs: median(rounds, 'wallMs'), cpuMs: median(rounds, 'cpuMs') }));
    console.log(
      `\ncollection: the Linux metric collector (disk.used_percent{/}, memory.used_percent, uptime.seconds) on ${fmt(DEVICES)} devices, all one sshd on 127.0.0.1:${sshd.port}, ${WIDTH} at a time, ${ROUNDS} rounds`,
    );
    console.log(
      `  ${'per round (median)'.padEnd(32)} ${'wall s'.padStart(7)} ${'client cpu s'.padStart(12)} ${'devices/s'.padStart(9)}`,
    );
    for (const r of rows)
      console.log(
        `  ${r.label.padEnd(32)} ${fmt(r.wallMs / 1000, 2).padStart(7)} ${fmt(r.cpuMs / 1000, 2).padStart(12)} ${fmt(DEVICES / (r.wallMs / 1000)).padStart(9)}`,
      );
    const [keptRow, , floorRow, reconnectRow] = rows;
    const ratio = (a, b, key) => fmt(a[key] / b[key], 2);
    console.log(
      [
        `  kept open / bare ssh2: wall ${ratio(keptRow, floorRow, 'wallMs')}x, client cpu ${ratio(keptRow, floorRow, 'cpuMs')}x`,
        `  reconnect every round / kept open: wall ${ratio(reconnectRow, keptRow, 'wallMs')}x, client cpu ${ratio(reconnectRow, keptRow, 'cpuMs')}x`,
        `  bare ssh2 opened its ${fmt(DEVICES)} connections in ${fmt(bare.setupMs / 1000, 2)} s before round 1 (not counted).`,
        `Clients and sshd share ${os.cpus().length} cores: the sshd side (a shell and df per device) bounds wall time.`,
        'client cpu: the client process only (process.cpuUsage over the round). Each client runs once, one after another.',
      ].join('\n'),
    );
  } finally {
    await sshd.stop();
  }
}
