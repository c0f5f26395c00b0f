import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from './nats-server.js';
import { createRemoteSite, type RemoteSite } from './netns.js';
import { type Sshd, startSshd } from './sshd.js';

let site: RemoteSite;
let sshd: Sshd;
let nats: NatsServer;

beforeAll(async () => {
  site = await createRemoteSite();
  sshd = await startSshd({ netns: { name: site.endpointNs, address: site.endpointAddress } });
  nats = await startNatsServer({ host: site.consoleAddress });
}, 30_000);

afterAll(async () => {
  await nats?.remove();
  await sshd?.stop();
  await site?.remove();
});

const ssh = (prefix: string[]) =>
  execa(
    prefix[0] ?? 'ssh',
    [
      ...prefix.slice(1),
      ...(prefix.length > 0 ? ['ssh'] : []),
      '-i',
      sshd.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${sshd.knownHostsPath}`,
      '-o',
      'ConnectTimeout=3',
      '-o',
      'BatchMode=yes',
      '-p',
      String(sshd.port),
      `${sshd.user}@${sshd.host}`,
      'echo reached',
    ],
    { reject: false },
  );

it('puts the endpoint where only the site reaches it, and the console where the site reaches it', async () => {
  const fromSite = await ssh(site.inNs(site.siteNs));
  expect(fromSite.stdout).toBe('reached');
  const fromConsole = await ssh([]);
  expect(fromConsole.exitCode).not.toBe(0);
  expect(fromConsole.stderr).toMatch(/No route to host/);
  const toNats = await execa(
    'ip',
    [
      ...site.inNs(site.siteNs).slice(1),
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${site.consoleAddress}/${nats.port} && head -c 4 <&3`,
    ],
    { reject: false },
  );
  expect(toNats.stdout).toBe('INFO');
}, 30_000);
