import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredNotifications } from '../../src/notify/stored-channels.js';
import { openDatabase } from '../../src/state/connection.js';
import { runCli } from '../helpers/cli.js';

/**
 * The NotificationChannel and AlertRoute kinds through the real CLI on a real SQLite file: every bad
 * input at its line with a clear message and nothing written; plan, apply, a second empty plan,
 * get, export, and a prune that would leave a route naming a deleted channel.
 */
let cwd: string;
const rmm = (...args: string[]) => runCli(args, { cwd });
const write = (name: string, text: string) => writeFile(path.join(cwd, name), text);

const CHANNELS = `apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: ops-slack}
spec:
  type: webhook
  webhook:
    url: env:RMM_SLACK_WEBHOOK
    format: slack
    timeout: 10s
---
apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: oncall-mail}
spec:
  type: email
  email:
    host: smtp.example.com
    port: 587
    from: rmm@example.com
    to: [oncall@example.com]
    auth: {user: rmm, password: env:RMM_SMTP_PASSWORD}
`;

const ROUTES = `apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {}
---
apiVersion: rmm/v1
kind: AlertRoute
metadata: {name: critical-to-oncall}
spec:
  channels: [oncall-mail, ops-slack]
  match:
    severities: [Critical]
    sites: [main]
    groups: [web]
    labels: {env: prod}
  repeatEvery: 4h
`;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-notify-kinds-'));
  expect((await rmm('init')).exitCode).toBe(0);
});
afterAll(() => rm(cwd, { recursive: true, force: true }));

describe('NotificationChannel and AlertRoute: bad inputs', () => {
  it('refuses an inline webhook URL and an inline password, saying to use env: or file:', async () => {
    await write(
      'inline.yaml',
      `apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: hook}
spec:
  type: webhook
  webhook: {url: "https://hooks.example.com/services/T000/B000/abcdefghijkl"}
---
apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: mail}
spec:
  type: email
  email: {host: smtp.example.com, from: a@example.com, to: [b@example.com], auth: {user: rmm, password: hunter2hunter2}}
`,
    );
    const result = await rmm('plan', '-f', 'inline.yaml');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'inline.yaml:6:18: NotificationChannel/hook: must be a reference, env:NAME or file:PATH: a webhook URL carries the token',
    );
    expect(result.stderr).toMatch(
      /inline\.yaml:13:\d+: NotificationChannel\/mail: "password" looks like an inline secret/,
    );
    expect(result.stderr).not.toContain('abcdefghijkl');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('names an unknown channel, site or group of a route at its line, with did-you-mean', async () => {
    await write(
      'route.yaml',
      `${CHANNELS}---
apiVersion: rmm/v1
kind: AlertRoute
metadata: {name: r1}
spec:
  channels: [ops-slak]
  match: {sites: [mian], groups: [web]}
`,
    );
    const result = await rmm('validate', '-f', 'route.yaml');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      'route.yaml:27:14: AlertRoute/r1: channel "ops-slak" is not declared; did you mean "ops-slack"?',
    );
    expect(result.stdout).toContain(
      'route.yaml:28:19: AlertRoute/r1: site "mian" is not declared; did you mean "main"?',
    );
    expect(result.stdout).toContain('route.yaml:28:35: AlertRoute/r1: group "web" is not declared');
  });

  it('refuses a reference the console would not resolve, durations out of range, and two blocks', async () => {
    await write(
      'rules.yaml',
      `apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: home}
spec:
  type: webhook
  webhook: {url: "env:HOME", timeout: 10m}
---
apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: both}
spec:
  type: webhook
  webhook: {url: "env:RMM_HOOK"}
  email: {host: smtp.example.com, from: a@example.com, to: [b@example.com]}
---
apiVersion: rmm/v1
kind: AlertRoute
metadata: {name: r2}
spec:
  channels: [home]
  repeatEvery: 10s
  groupWait: 2h
`,
    );
    const result = await rmm('validate', '-f', 'rules.yaml');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      'rules.yaml:6:18: NotificationChannel/home: the reference names an environment variable this console does not allow',
    );
    expect(result.stdout).toContain('rules.yaml:6:39: NotificationChannel/home: must be from 1s to 5m');
    expect(result.stdout).toContain(
      'rules.yaml:14:3: NotificationChannel/both: is for type: email; this channel is type: webhook, so only its webhook block is used (remove one)',
    );
    expect(result.stdout).toContain('rules.yaml:21:16: AlertRoute/r2: must be from 1m to 30d');
    expect(result.stdout).toContain('rules.yaml:22:14: AlertRoute/r2: must be from 0s to 1h');
  });

  it('warns at starttls: off and tls.verify: false, and still accepts them (a lab needs them)', async () => {
    await write(
      'lab.yaml',
      `apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: lab-mail}
spec:
  type: email
  email:
    host: 127.0.0.1
    starttls: "off"
    from: rmm@example.com
    to: [oncall@example.com]
    auth: {user: rmm, password: env:RMM_SMTP_PASSWORD}
    tls: {verify: false}
`,
    );
    const result = await rmm('validate', '-f', 'lab.yaml');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'lab.yaml:8:15: NotificationChannel/lab-mail: warning: starttls: off sends every notification, and the SMTP password, in clear: for labs only',
    );
    expect(result.stdout).toMatch(
      /lab\.yaml:12:19: NotificationChannel\/lab-mail: warning: tls\.verify: false accepts any certificate/,
    );
  });
});

describe('NotificationChannel and AlertRoute: plan and apply', () => {
  it('applies them, plans nothing more, shows them, exports them back, refuses to prune a named channel', async () => {
    await write('channels.yaml', CHANNELS);
    await write('routes.yaml', ROUTES);
    const plan = await rmm('plan', '-f', 'channels.yaml', '-f', 'routes.yaml');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain('+ NotificationChannel/ops-slack');
    expect(plan.stdout).toContain('webhook: {"url":"(sensitive)","format":"slack","timeout":"10s"}');
    expect(plan.stdout).toContain('"auth":{"user":"rmm","password":"(sensitive)"}');
    expect(plan.stdout).toContain('+ AlertRoute/critical-to-oncall');
    expect(plan.stdout).toContain('notifyOnResolve: true');
    expect(plan.stdout).toContain('groupWait: "30s"');
    expect((await rmm('apply', '-f', 'channels.yaml', '-f', 'routes.yaml', '--auto-approve')).exitCode).toBe(
      0,
    );
    const again = await rmm('plan', '-f', 'channels.yaml', '-f', 'routes.yaml');
    expect(again.stdout).toContain('No changes.');

    const db = openDatabase(path.join(cwd, 'data', 'devices.db'), { readonly: true });
    try {
      const stored = readStoredNotifications(db);
      expect(stored.unreadable).toEqual([]);
      expect(stored.channels.get('ops-slack')).toEqual({
        type: 'webhook',
        webhook: { url: 'env:RMM_SLACK_WEBHOOK', format: 'slack', timeout: '10s' },
      });
      expect(stored.routes.get('critical-to-oncall')).toEqual({
        channels: ['oncall-mail', 'ops-slack'],
        match: { severities: ['Critical'], sites: ['main'], groups: ['web'], labels: { env: 'prod' } },
        notifyOnResolve: true,
        repeatEvery: '4h',
        groupWait: '30s',
      });
    } finally {
      db.close();
    }

    const get = await rmm('get', 'channels');
    expect(get.stdout).toMatch(/oncall-mail\s+email\s+oncall@example\.com via smtp\.example\.com:587\s+yes/);
    expect(get.stdout).toMatch(/ops-slack\s+webhook\s+webhook \(slack\)\s+yes/);

    const exported = await rmm('export', '--dir', 'out');
    expect(exported.exitCode).toBe(0);
    const roundTrip = await rmm(
      'plan',
      '-f',
      'out/channels.yaml',
      '-f',
      'out/routes.yaml',
      '-f',
      'out/groups.yaml',
    );
    // Only the recorded files move to the export's; no field changes.
    expect(roundTrip.stdout).toContain(
      '~ AlertRoute/critical-to-oncall (moves from routes.yaml to out/routes.yaml)',
    );
    expect(roundTrip.stdout).not.toMatch(/^ {6}\S/m);
    expect(roundTrip.stdout).not.toMatch(/^ {2}[+-] /m);

    // The route stays (another file), its channel would go: refused, nothing changed.
    await write('channels.yaml', CHANNELS.split('---\n')[0] as string);
    const prune = await rmm('plan', '-f', 'channels.yaml', '--prune');
    expect(prune.exitCode).toBe(1);
    expect(prune.stderr).toContain('NotificationChannel/oncall-mail: AlertRoute/critical-to-oncall');
  });
});
