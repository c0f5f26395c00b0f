import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { queryFile } from '../helpers/sqlite.js';
import { applyDevices, sshWorkspace } from '../helpers/ssh-workspace.js';
import type { Sshd } from '../helpers/sshd.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * rmm serve asks the declared maintenance windows whether a device is in one when its alert fires:
 * end to end from YAML, an alert raised on a device under a window is recorded, marked with the
 * window, and notifies nobody, while the same alert on a device outside it reaches the webhook.
 */
let sshd: Sshd;
let cwd: string;
let env: Record<string, string>;
let ssh: string;
let receiver: WebhookReceiver;
const rmm = (...args: string[]) => runCli(args, { cwd, env });
const query = <T>(sql: string): T[] => queryFile<T>(path.join(cwd, 'data', 'devices.db'), sql);

const DAY = 86_400_000;
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);

const devices = (transport: string) => `apiVersion: rmm/v1
kind: Device
metadata: {name: in-window}
spec:
  site: main
  address: 127.0.0.1
  os: linux
  groups: [web]
  transport: {${transport}}
  maintenance:
    - {name: kernel-upgrade, start: "${minute(Date.now() - DAY)}Z", end: "${minute(Date.now() + DAY)}Z"}
---
apiVersion: rmm/v1
kind: Device
metadata: {name: outside}
spec: {site: main, address: 127.0.0.1, os: linux, groups: [web], transport: {${transport}}}
---
apiVersion: rmm/v1
kind: DeviceGroup
metadata: {name: web}
spec: {policy: disks}
---
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
  groupWait: 0s
`;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  ({ sshd, cwd, env, transport: ssh } = await sshWorkspace('rmm-serve-maint-', 'serve-test'));
  env.RMM_TEST_HOOK_URL = receiver.url;
  await applyDevices({ cwd, env }, devices(ssh));
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await receiver?.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('rmm serve keeps alerts of a device in maintenance quiet', { timeout: 90_000 }, () => {
  it('records the alert with its window and sends nothing for it; the device outside notifies', async () => {
    const served = await rmm('serve', '--once');
    expect(served.exitCode, served.stderr).toBe(0);
    const alerts = query<{ DeviceId: string; Maintenance: string | null }>(
      'SELECT DeviceId, Maintenance FROM Alerts ORDER BY DeviceId',
    );
    expect(alerts).toEqual([
      { DeviceId: 'in-window', Maintenance: 'kernel-upgrade' },
      { DeviceId: 'outside', Maintenance: null },
    ]);
    const sent = receiver
      .accepted()
      .flatMap((r) => JSON.parse(r.body).alerts.map((a: { device: string }) => a.device));
    expect(sent).toEqual(['outside']);
  });
});
