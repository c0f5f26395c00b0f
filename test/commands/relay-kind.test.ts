import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/connection.js';
import { readQueueRoutes } from '../../src/transports/queue-routes.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { execFile, queryFile } from '../helpers/sqlite.js';

/**
 * The Relay kind and device routing through the real CLI on a real SQLite file. A transport named
 * relay is installed the way a user installs a plugin (test/fixtures/plugins/relay-options: a relay
 * route's options schema, no queue), so a Relay's spec.nats is checked against a plugin's schema as
 * a device's transport block is. Every bad input is refused at its line, with nothing written.
 */
let cwd: string;
let env: Record<string, string>;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const write = (name: string, text: string) => writeFile(path.join(cwd, name), text);
const db = () => path.join(cwd, 'data', 'devices.db');

const RELAYS = `apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-alpha}
spec:
  description: Relay in the Alpha office
  nats:
    servers: [tls://nats.example.net:4222]
    user: rmm-console
    credentialRef: env:RMM_NATS_PASSWORD
  actionExpiry: 12h
---
apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-beta}
spec:
  nats: {servers: [tls://nats.example.net:4222], credentialRef: env:RMM_NATS_PASSWORD}
`;

const SITES = `apiVersion: rmm/v1
kind: Site
metadata: {name: alpha}
spec: {relay: relay-alpha}
---
apiVersion: rmm/v1
kind: Site
metadata: {name: beta}
spec: {}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: a-1}
spec: {site: alpha, address: 10.1.0.1}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: a-2}
spec: {site: alpha, address: 10.1.0.2, transport: {via: direct}}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: b-1}
spec: {site: beta, address: 10.2.0.1}
`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-relay-kind-'));
  env = {
    XDG_DATA_HOME: path.join(cwd, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(cwd, 'xdg', 'cache'),
    XDG_CONFIG_HOME: path.join(cwd, 'xdg', 'config'),
  };
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'plugins', 'relay-options');
  const { stdout } = await execa('npm', ['pack', fixture, '--pack-destination', cwd], { cwd });
  const installed = await rmm(
    'plugins',
    'install',
    `file:${path.join(cwd, stdout.trim().split('\n').at(-1) ?? '')}`,
  );
  expect(installed.exitCode, installed.stderr).toBe(0);
  expect((await rmm('init')).exitCode).toBe(0);
}, 120_000);
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('Relay: bad inputs, each at its line, nothing written', () => {
  it('refuses bad nats options (by the plugin schema), an inline password, a refused reference and a bad expiry', async () => {
    await write(
      'bad.yaml',
      `apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-bad}
spec:
  nats:
    servers: [http://nats.example.net]
    credentialRef: env:RMM_NATS_PASSWORD
  actionExpiry: 45d
---
apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-typo}
spec:
  nats: {server: [tls://nats.example.net:4222], credentialRef: env:HOME}
  actionExpiry: 30s
---
apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-inline}
spec:
  nats: {servers: [tls://nats.example.net:4222], password: hunter2hunter2}
  actionExpiry: soon
---
apiVersion: rmm/v1
kind: Relay
metadata: {name: relay-ref}
spec:
  nats: {servers: [tls://nats.example.net:4222], credentialRef: hunter2hunter2}
`,
    );
    const result = await rmm('validate', '-f', 'bad.yaml');
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split('\n');
    // The plugin's schema: the URL's form, a misspelt key (its own words may differ; the place may not).
    expect(lines).toContainEqual(
      expect.stringMatching(/^bad\.yaml:6:15: Relay\/relay-bad: "http:\/\/nats\.example\.net" /),
    );
    expect(lines).toContain('bad.yaml:8:17: Relay/relay-bad: must be from 1m to 30d');
    expect(lines).toContainEqual(expect.stringMatching(/^bad\.yaml:14:10: Relay\/relay-typo: .*"server"/));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^bad\.yaml:14:64: Relay\/relay-typo: credentialRef names an environment variable this console does not allow/,
      ),
    );
    expect(lines).toContain('bad.yaml:15:17: Relay/relay-typo: must be from 1m to 30d');
    expect(lines).toContain(
      'bad.yaml:21:50: Relay/relay-inline: "password" looks like an inline secret; keep secrets out of YAML and use credentialRef: env:NAME or file:PATH',
    );
    expect(lines).toContain(
      'bad.yaml:22:17: Relay/relay-inline: "soon" must be a duration such as 30s, 5m, 24h, 7d or 1h30m',
    );
    expect(lines).toContain(
      'bad.yaml:28:65: Relay/relay-ref: must be env:NAME (an environment variable) or file:PATH (a file): the only references rmm reads secrets from',
    );
    expect(result.stdout).not.toContain('hunter2');
    const before = queryFile(db(), 'SELECT count(*) AS n FROM Relays');
    const applied = await rmm('apply', '-f', 'bad.yaml', '--auto-approve');
    expect(applied.exitCode).toBe(1);
    expect(applied.stderr).not.toContain('hunter2');
    expect(queryFile(db(), 'SELECT count(*) AS n FROM Relays')).toEqual(before);
  });

  it('names an unknown relay of a site with did-you-mean, and via: relay where the site has none', async () => {
    await write(
      'refs.yaml',
      `${RELAYS}---
apiVersion: rmm/v1
kind: Site
metadata: {name: alpha}
spec: {relay: relay-alpa}
---
apiVersion: rmm/v1
kind: Site
metadata: {name: gamma}
spec:
  defaults:
    transport: {type: ssh, via: relay}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: m-1}
spec: {site: main, transport: {via: relay}}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: m-2}
spec: {site: main, transport: {via: relays}}
`,
    );
    const result = await rmm('plan', '-f', 'refs.yaml');
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.split('\n').map((l) => l.trim());
    expect(lines).toContain(
      'refs.yaml:21:15: Site/alpha: relay "relay-alpa" is not declared in the input nor in the database; did you mean "relay-alpha"?',
    );
    expect(lines).toContain(
      'refs.yaml:28:33: Site/gamma: via: relay needs a relay, and this site names none (set spec.relay to a Relay, or leave via out to connect directly)',
    );
    expect(lines).toContain(
      'refs.yaml:33:37: Device/m-1: via: relay needs a relay, and site "main" has none (name one in the site\'s spec.relay, or leave via out to connect directly)',
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^refs\.yaml:38:37: Device\/m-2: must be one of: relay, direct/),
    );
    expect(queryFile(db(), 'SELECT count(*) AS n FROM Relays')).toEqual([{ n: 0 }]);
  });
});

describe('Relay: apply, get, export, drift, prune and plan moves', () => {
  it('applies relays and routes devices, shows them, exports them back, and plans nothing more', async () => {
    await write('relays.yaml', RELAYS);
    await write('sites.yaml', SITES);
    const plan = await rmm('plan', '-f', 'relays.yaml', '-f', 'sites.yaml');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('+ Relay/relay-alpha');
    expect(plan.stdout).toContain(
      'nats: {"servers":["tls://nats.example.net:4222"],"user":"rmm-console","credentialRef":"(sensitive)"}',
    );
    expect((await rmm('apply', '-f', 'relays.yaml', '-f', 'sites.yaml', '--auto-approve')).exitCode).toBe(0);
    expect(
      queryFile(db(), 'SELECT RelayId, Description, Nats, ActionExpiry FROM Relays ORDER BY RelayId'),
    ).toEqual([
      {
        RelayId: 'relay-alpha',
        Description: 'Relay in the Alpha office',
        Nats: '{"servers":["tls://nats.example.net:4222"],"user":"rmm-console","credentialRef":"env:RMM_NATS_PASSWORD"}',
        ActionExpiry: '12h',
      },
      {
        RelayId: 'relay-beta',
        Description: null,
        Nats: '{"servers":["tls://nats.example.net:4222"],"credentialRef":"env:RMM_NATS_PASSWORD"}',
        ActionExpiry: null,
      },
    ]);
    const again = await rmm('plan', '-f', 'relays.yaml', '-f', 'sites.yaml', '--detailed-exitcode');
    expect(again.exitCode, again.stdout).toBe(0);

    const relays = (await rmm('get', 'relays')).stdout.split('\n');
    expect(relays[0]).toMatch(/^NAME\s+SERVERS\s+SITES\s+DEVICES\s+EXPIRY\s+MANAGED$/);
    expect(relays[1]).toMatch(/^relay-alpha\s+tls:\/\/nats\.example\.net:4222\s+alpha\s+1\s+12h\s+yes$/);
    expect(relays[2]).toMatch(/^relay-beta\s+tls:\/\/nats\.example\.net:4222\s+0\s+24h\s+yes$/);
    const json = JSON.parse((await rmm('get', 'relays', 'relay-alpha', '-o', 'json')).stdout);
    expect(json[0].serves).toEqual({ sites: ['alpha'], devices: 1 });
    const devices = (await rmm('get', 'devices')).stdout.split('\n');
    expect(devices[0]).toMatch(/\sVIA\s+MANAGED$/);
    expect(devices.find((l) => l.startsWith('a-1 '))).toMatch(/\srelay-alpha\s+yes$/);
    expect(devices.find((l) => l.startsWith('a-2 '))).toMatch(/\sdirect\s+yes$/);
    expect(devices.find((l) => l.startsWith('b-1 '))).toMatch(/\sdirect\s+yes$/);
    const one = await rmm('get', 'devices', 'a-2');
    expect(one.stdout).toMatch(/^ {2}via\s+direct\s+device$/m);
    expect(one.stdout).toContain('Route: direct');

    // What the queue side reads: the Relay's nats block as a route of the relay transport.
    const conn = openDatabase(db(), { readonly: true });
    try {
      expect(readQueueRoutes(conn).get('relay-alpha')).toEqual({
        transport: 'relay',
        name: 'relay-alpha',
        options: { servers: ['tls://nats.example.net:4222'], user: 'rmm-console' },
        credentialRef: 'env:RMM_NATS_PASSWORD',
        expirySeconds: 12 * 3600,
      });
    } finally {
      conn.close();
    }

    const exported = await rmm('export', '--dir', 'out');
    expect(exported.exitCode).toBe(0);
    const replanned = await rmm('plan', '-f', 'out', '--detailed-exitcode');
    expect(replanned.exitCode, replanned.stdout).toBe(2); // only the owners' files move
    expect(replanned.stdout).not.toMatch(/^\s+(nats|actionExpiry|relay):/m);
  });

  it('puts back a relay changed outside rmm (drift)', async () => {
    execFile(db(), `UPDATE Relays SET ActionExpiry = '1h' WHERE RelayId = 'relay-alpha'`);
    const plan = await rmm('plan', '-f', 'relays.yaml', '-f', 'sites.yaml');
    expect(plan.stdout).toContain('~ Relay/relay-alpha (drift: changed outside rmm since the last apply');
    expect(plan.stdout).toContain('actionExpiry: "1h" -> "12h"');
    expect((await rmm('apply', '-f', 'relays.yaml', '-f', 'sites.yaml', '--auto-approve')).exitCode).toBe(0);
  });

  it('a Relays row edited outside rmm into something apply never writes is a clear problem of its route, not options gibberish', async () => {
    const before = queryFile<{ RelayId: string; Nats: string; ActionExpiry: string }>(
      db(),
      'SELECT RelayId, Nats, ActionExpiry FROM Relays',
    );
    try {
      execFile(db(), `UPDATE Relays SET Nats = '{bad' WHERE RelayId = 'relay-alpha'`);
      execFile(db(), `UPDATE Relays SET ActionExpiry = 'forever' WHERE RelayId = 'relay-beta'`);
      const conn = openDatabase(db(), { readonly: true });
      try {
        const routes = readQueueRoutes(conn);
        expect(routes.get('relay-alpha')?.problem).toBe(
          'its stored nats block is not an object (the Relays row was edited outside rmm: rmm plan shows it, rmm apply restores it)',
        );
        expect(routes.get('relay-beta')?.problem).toMatch(
          /^its stored actionExpiry "forever" is not a duration/,
        );
      } finally {
        conn.close();
      }
      const collect = await rmm('actions', 'collect');
      const said = `${collect.stdout}${collect.stderr}`;
      expect(said).toContain('relay/relay-alpha: its stored nats block is not an object');
      expect(said).not.toContain('must NOT have additional properties');
    } finally {
      for (const row of before)
        execFile(
          db(),
          `UPDATE Relays SET Nats = ${sqlText(row.Nats)}, ActionExpiry = ${sqlText(row.ActionExpiry)} WHERE RelayId = ${sqlText(row.RelayId)}`,
        );
    }
  });

  it('refuses a site dropping the relay a device in the database asks for with via: relay', async () => {
    await write(
      'a3.yaml',
      'apiVersion: rmm/v1\nkind: Device\nmetadata: {name: a-3}\nspec: {site: alpha, transport: {via: relay}}\n',
    );
    const applied = await rmm('apply', '-f', 'a3.yaml', '--auto-approve');
    expect(applied.exitCode, applied.stderr).toBe(0);
    await write(
      'alpha.yaml',
      'apiVersion: rmm/v1\nkind: Site\nmetadata: {name: alpha}\nspec: {location: Chicago}\n',
    );
    const result = await rmm('plan', '-f', 'alpha.yaml');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'alpha.yaml:4:7: Site/alpha: device "a-3" in the database asks for via: relay, so this site needs a relay (spec.relay)',
    );
    execFile(
      db(),
      `DELETE FROM Devices WHERE DeviceId = 'a-3'; DELETE FROM ManagedResources WHERE Name = 'a-3'`,
    );
    expect((await rmm('plan', '-f', 'alpha.yaml')).exitCode).toBe(0);
  });

  it('plan shows which devices move to or from a relay, in text and JSON', async () => {
    await write(
      'sites.yaml',
      SITES.replace('spec: {relay: relay-alpha}', 'spec: {}').replace(
        'spec: {}\n---\napiVersion: rmm/v1\nkind: Device\nmetadata: {name: a-1}',
        'spec: {relay: relay-beta}\n---\napiVersion: rmm/v1\nkind: Device\nmetadata: {name: a-1}',
      ),
    );
    const text = await rmm('plan', '-f', 'relays.yaml', '-f', 'sites.yaml');
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain('1 device moves from relay relay-alpha to direct: a-1');
    expect(text.stdout).toContain('1 device moves to relay relay-beta: b-1');
    const json = JSON.parse((await rmm('plan', '-f', 'relays.yaml', '-f', 'sites.yaml', '--json')).stdout);
    expect(json.blastRadius.relays).toEqual([
      { from: 'relay-alpha', to: null, count: 1, devices: ['a-1'] },
      { from: null, to: 'relay-beta', count: 1, devices: ['b-1'] },
    ]);
  });

  it('refuses to prune a relay a kept site names, and prunes it once nothing does', async () => {
    await write('sites.yaml', SITES);
    expect((await rmm('apply', '-f', 'relays.yaml', '-f', 'sites.yaml', '--auto-approve')).exitCode).toBe(0);
    await write('relays.yaml', RELAYS.split('---')[1] as string);
    const refused = await rmm('apply', '-f', 'relays.yaml', '-f', 'sites.yaml', '--prune', '--auto-approve');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      '- Relay/relay-alpha: Site/alpha (declared in the input) refers to it in relay',
    );
    expect(queryFile(db(), 'SELECT RelayId FROM Relays ORDER BY RelayId')).toHaveLength(2);
    await write('sites.yaml', SITES.replace('spec: {relay: relay-alpha}', 'spec: {}'));
    const pruned = await rmm('apply', '-f', 'relays.yaml', '-f', 'sites.yaml', '--prune', '--auto-approve');
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('1 device moves from relay relay-alpha to direct: a-1');
    expect(queryFile(db(), 'SELECT RelayId FROM Relays')).toEqual([{ RelayId: 'relay-beta' }]);
  });
});

const sqlText = (text: string | null) => (text === null ? 'NULL' : `'${text.replaceAll("'", "''")}'`);
