import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * From YAML to a webhook, end to end as a user runs it: a Policy's monitor, a NotificationChannel
 * (its URL a reference to an environment variable) and an AlertRoute applied; rmm serve --once
 * against the tests' real OpenSSH raises the alert and delivers its notification to a real loopback
 * receiver; pruning the policy resolves it and delivers the resolve. rmm alerts show and rmm status
 * show what was sent.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let ssh: string;
let receiver: WebhookReceiver;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string): T[] => queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql);

const device = (transport: string, withPolicy: boolean) => `apiVersion: rmm/v1
kind: Device
metadata: {name: mon-a}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [web], transport: {${transport}}}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {${withPolicy ? 'policy: disks' : ''}}
---
apiVersion: rmm/v1
kind: NotificationChannel
metadata: {name: ops-hook}
spec:
  type: webhook
  webhook: {url: "env:RMM_TEST_HOOK_URL"}
---
apiVersion: rmm/v1
kind: AlertRoute
metadata: {name: web-to-ops}
spec:
  channels: [ops-hook]
  match: {groups: [web]}
  groupWait: 0s
`;
const POLICY = `---
apiVersion: rmm/v1
kind: Policy
metadata: {name: disks}
spec:
  monitors:
    - name: root-disk
      metric: disk.used_percent
      match: {mount: /}
      when: {op: ">", value: 0}
      severity: Warning
      autoResolve: true
`;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-serve-notify-', 'serve-test'));
  env.RMM_TEST_HOOK_URL = receiver.url;
  await applyDevices({ cwd, env }, device(ssh, true) + POLICY);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await receiver?.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm serve delivers an alert from YAML to a webhook', { timeout: 90_000 }, () => {
  it('fire and resolve reach the receiver once each, with the outbox id as the idempotency key', async () => {
    const first = await rmm('serve', '--once');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(receiver.accepted()).toHaveLength(1);
    const fire = JSON.parse(receiver.accepted()[0]?.body ?? '{}');
    expect(fire).toMatchObject({
      event: 'fire',
      channel: 'ops-hook',
      severity: 'Warning',
      group: { site: 'main', source: 'disks/root-disk' },
      alertCount: 1,
    });
    expect(fire.alerts[0]).toMatchObject({ device: 'mon-a', instance: 'mount=/' });
    const [row] = query<{ NotificationId: string; Status: string }>(
      'SELECT NotificationId, Status FROM Notifications',
    );
    expect(row).toEqual({ NotificationId: fire.id, Status: 'Delivered' });
    expect(receiver.accepted()[0]?.headers['idempotency-key']).toBe(fire.id);

    // Nothing new: a second serve sends nothing more.
    expect((await rmm('serve', '--once')).exitCode).toBe(0);
    expect(receiver.accepted()).toHaveLength(1);

    await writeFile(path.join(cwd, 'devices.yaml'), device(ssh, false));
    const pruned = await rmm('apply', '-f', 'devices.yaml', '--auto-approve', '--prune');
    expect(pruned.exitCode, pruned.stderr).toBe(0);
    expect((await rmm('serve', '--once')).exitCode).toBe(0);
    expect(receiver.accepted().map((r) => JSON.parse(r.body).event)).toEqual(['fire', 'resolve']);

    const [alert] = query<{ AlertId: string; NotificationsSent: string }>(
      'SELECT AlertId, NotificationsSent FROM Alerts',
    );
    expect(JSON.parse(alert?.NotificationsSent ?? '[]').map((n: { event: string }) => n.event)).toEqual([
      'fire',
      'resolve',
    ]);
    const shown = await rmm('alerts', 'show', alert?.AlertId ?? '');
    expect(shown.stdout).toMatch(/ops-hook +fire +Delivered +1 /);
    expect(shown.stdout).toMatch(/ops-hook +resolve +Delivered +1 /);
    const status = await rmm('status');
    expect(status.stdout).toContain('Notifications: nothing pending, failed or expired');
  });
});
