import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { allFinished, finishedById, RELAY, type RelaySite, relaySite } from '../helpers/relay-site.js';
import { addRelayConsumers } from '../helpers/relay-streams.js';
import { waitFor } from '../helpers/wait.js';

/** Starting rmm relay: its flags and credentials, waiting for its consumer, its heartbeat. */
describe('rmm relay: start-up', () => {
  let site: RelaySite;
  beforeAll(async () => {
    site = await relaySite({ consumers: false });
  });
  afterAll(async () => {
    await site?.remove();
  });

  const relay = (creds: string, name = RELAY) =>
    runCli(['relay', '--name', name, '--nats', site.nats.url, '--creds', creds, '--data-dir', site.dataDir], {
      cwd: site.ssh.cwd,
      env: site.ssh.env,
    });

  it('refuses a --creds that is not a reference without echoing it', async () => {
    const result = await relay('hunter2-password');
    expect(result.exitCode).toBe(64);
    expect(result.stderr).toContain('--creds is neither env:NAME nor file:PATH');
    expect(result.stderr).not.toContain('hunter2');
  });

  it("refuses a reference outside the relay's allow-list, and a name that is not a relay name", async () => {
    const refused = await relay('env:HOME');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/--creds: credential env:HOME: refused: .*does not allow/);
    const badName = await relay(`file:${site.dataDir}/credentials/nats-password`, 'Relay_Alpha');
    expect(badName.exitCode).toBe(64);
    expect(badName.stderr).toContain('--name "Relay_Alpha": not a relay name');
  });

  it('says NATS refused a wrong password, without the password', async () => {
    const file = path.join(site.dataDir, 'credentials', 'wrong');
    writeFileSync(file, 'wrong-password-value\n', { mode: 0o600 });
    const result = await relay(`file:${file}`);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("NATS refused the relay's connection: Authorization Violation");
    expect(result.stderr).not.toContain('wrong-password-value');
  }, 30_000);

  it('waits for the console to create its consumer, then runs the work, and sends heartbeats', async () => {
    const running = site.startRelay();
    let log = '';
    running.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    await waitFor('the relay waiting for its consumer', () =>
      log.includes('waiting for the work consumer') ? true : undefined,
    );
    await addRelayConsumers(site.console.nc, RELAY, 60_000);
    const message = site.work('dev-0');
    await site.console.submit(RELAY, message);
    const id = String(message.actionId);
    const reports = await site.collect(
      (seen) => allFinished([id])(seen) && seen.some((r) => r.body.kind === 'heartbeat'),
    );
    expect(finishedById(reports).get(id)?.status).toBe('Succeeded');
    // Its first heartbeat went as soon as it was connected, before the consumer existed.
    const beat = reports.find((r) => r.body.kind === 'heartbeat');
    expect(beat?.body).toMatchObject({
      v: 1,
      detail: { version: expect.any(String), running: 0, waiting: 0 },
    });
    expect(beat?.msgId).toBeUndefined();
    running.kill('SIGTERM');
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('waiting for the work consumer');
    expect(result.stderr).toContain('found the work consumer');
  }, 60_000);
});

describe('rmm relay: TLS', () => {
  let site: RelaySite;
  beforeAll(async () => {
    site = await relaySite({ tls: true });
  });
  afterAll(async () => {
    await site?.remove();
  });

  it('connects to a tls:// server whose certificate --tls-ca names, and runs the work', async () => {
    const message = site.work('dev-0');
    await site.console.submit(RELAY, message);
    const relay = site.startRelay();
    const reports = await site.collect(allFinished([String(message.actionId)]));
    expect(finishedById(reports).get(String(message.actionId))?.status).toBe('Succeeded');
    relay.kill('SIGTERM');
    const result = await relay;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/connected to NATS.*tls:\/\/127\.0\.0\.1|"server":"127\.0\.0\.1/);
  }, 60_000);
});
