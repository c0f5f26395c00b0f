import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORDS, type RelayProcess, type RelayWorld, relayWorld } from '../helpers/relay-world.js';
import { queryFile } from '../helpers/sqlite.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The whole relay path, for real: `rmm apply` of a Relay, a Site naming it and its Devices ->
 * `rmm exec` -> the relay plugin -> nats-server (with the authorization `rmm relay config` printed)
 * -> `rmm relay` in the site's network namespace -> the endpoints' sshd, which the console cannot
 * route to -> reports -> rows ended by the console. Faults are in relay-e2e-faults.test.ts.
 */
let world: RelayWorld;
let relay: RelayProcess | undefined;
const RELAY_DEVICES = ['alpha-1', 'alpha-2', 'alpha-3'];
const byName = RELAY_DEVICES.flatMap((name) => ['-t', `name=${name}`]);

beforeAll(async () => {
  world = await relayWorld();
}, 90_000);
afterAll(async () => {
  await world?.remove();
});

interface EndEvent {
  type: string;
  id: string;
  device: string;
  status: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  error?: string;
}
const ends = (stdout: string) =>
  new Map(
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as EndEvent)
      .filter((e) => e.type === 'action' && !['Running', 'Delivered'].includes(e.status))
      .map((e) => [e.device, e]),
  );
/** The relay runs (the tests stop and start it; each begins with the state it needs). */
const relayRunning = () => {
  if (!relay || relay.process.exitCode !== null || relay.process.signalCode !== null)
    relay = world.startRelay();
};
const tokens = async (token: string) => (await world.ran()).filter((line) => line === token).length;
const audit = (where: string) =>
  queryFile<{ Action: string; Target: string; Details: string; Success: number }>(
    world.db,
    `SELECT Action, Target, Details, Success FROM AuditLog WHERE ${where} ORDER BY LogId`,
  );

describe('rmm exec through a relay at a remote site', () => {
  it('the relay devices show what a direct exec shows; the via: direct device is unreachable from the console', async () => {
    relayRunning();
    const command = `echo ${'t-mixed'} >> ${world.ranFile}; echo out-$((1 + 2)); echo err >&2; exit 3`;
    const result = await world.rmm(
      'exec',
      '--json',
      '--connect-timeout',
      '5',
      '--wait',
      '60s',
      '-t',
      'site=alpha',
      '-t',
      'name=home-1',
      '--',
      command,
    );
    expect(result.exitCode, result.stderr).toBe(1);
    const byDevice = ends(result.stdout);
    const direct = byDevice.get('home-1');
    expect(direct).toMatchObject({ status: 'Failed', exitCode: 3, stdout: 'out-3\n', stderr: 'err\n' });
    for (const name of RELAY_DEVICES) {
      const { status, exitCode, stdout, stderr } = byDevice.get(name) ?? {};
      expect({ status, exitCode, stdout, stderr }, name).toEqual({
        status: direct?.status,
        exitCode: direct?.exitCode,
        stdout: direct?.stdout,
        stderr: direct?.stderr,
      });
    }
    // No route from the console to the endpoint: a direct attempt fails at once.
    expect(byDevice.get('alpha-direct')).toMatchObject({ status: 'Unreachable' });
    expect(byDevice.get('alpha-direct')?.error).toMatch(/EHOSTUNREACH/);
    // The three relay devices and home-1 ran it (home-1's sshd shares this file system); once each.
    expect(await tokens('t-mixed')).toBe(4);
  }, 90_000);

  it('the human output of a relay device reads as a direct one; actions list and show, and AuditLog', async () => {
    relayRunning();
    const command = `echo t-human >> ${world.ranFile}; printf 'line one\\nline two\\n'`;
    const viaRelay = await world.rmm('exec', '--wait', '60s', '-t', 'name=alpha-1', '--', command);
    const direct = await world.rmm('exec', '-t', 'name=home-1', '--', command);
    expect(viaRelay.exitCode, viaRelay.stderr).toBe(0);
    expect(direct.exitCode, direct.stderr).toBe(0);
    const shown = (out: string, device: string) =>
      out.replaceAll(device, 'DEVICE').replace(/\d+\.\d+ s/g, 'N s');
    expect(shown(viaRelay.stdout, 'alpha-1')).toBe(shown(direct.stdout, 'home-1'));
    expect(viaRelay.stdout).toContain('line one\nline two\n');

    const [row] = world.rows("d.Hostname = 'alpha-1' AND a.Payload LIKE '%t-human%'");
    expect(row?.Status).toBe('Succeeded');
    const list = await world.rmm('actions', 'list', '--device', 'alpha-1');
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${row?.ActionId}\\s+alpha-1\\s+exec\\s+Succeeded`));
    const show = await world.rmm('actions', 'show', row?.ActionId ?? '');
    expect(show.stdout).toMatch(/Status:\s+Succeeded/);
    expect(show.stdout).toContain('--- stdout\nline one\nline two');
    // The same AuditLog row as a direct run, with the route in its details.
    const [directRow] = world.rows("d.Hostname = 'home-1' AND a.Payload LIKE '%t-human%'");
    const [entry] = audit(`Details LIKE '%${row?.ActionId}%' AND Action LIKE 'action.exec %'`);
    const [directEntry] = audit(`Details LIKE '%${directRow?.ActionId}%' AND Action LIKE 'action.exec %'`);
    expect(entry).toMatchObject({ Success: 1, Target: expect.stringMatching(/^Device\//) });
    expect(Object.keys(entry ?? {})).toEqual(Object.keys(directEntry ?? {}));
    expect(JSON.parse(entry?.Details ?? '{}')).toMatchObject({
      actionId: row?.ActionId,
      status: 'Succeeded',
      via: 'relay/relay-alpha',
    });
    expect(JSON.parse(directEntry?.Details ?? '{}')).toMatchObject({ status: 'Succeeded' });
    expect(await tokens('t-human')).toBe(2);
  }, 90_000);

  it('an explicit --wait waits for a relay that is offline when the actions are delivered', async () => {
    if (relay) expect(await relay.stop()).toBe(0);
    const exec = world.spawnRmm(
      'exec',
      '--json',
      '--wait',
      '90s',
      ...byName,
      '--',
      `echo t-late >> ${world.ranFile}; echo late`,
    );
    await waitFor(
      'the rows Delivered',
      () =>
        world.rows("a.Payload LIKE '%t-late%'").filter((r) => r.Status === 'Delivered').length === 3 ||
        undefined,
    );
    // rmm status: three wait at relay-alpha, the oldest for about as long as this test ran.
    const status = await world.rmm('status', '--json');
    const relays = JSON.parse(status.stdout).relays as Array<Record<string, unknown>>;
    const alpha = relays.find((r) => r.route === 'relay-alpha');
    expect(alpha).toMatchObject({ transport: 'relay', depth: 3 });
    expect(alpha?.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(alpha?.oldestAgeMs).toBeLessThan(60_000);
    expect(exec.exitCode).toBeNull();
    relay = world.startRelay();
    const done = await exec;
    expect(done.exitCode, String(done.stderr)).toBe(0);
    const ended = [...ends(String(done.stdout)).values()].map((e) => [e.device, e.status, e.stdout]);
    expect(ended.sort()).toEqual(RELAY_DEVICES.map((name) => [name, 'Succeeded', 'late\n']));
    expect(await tokens('t-late')).toBe(3);
  }, 120_000);

  it("a report sent with relay-beta's credentials about relay-alpha's action is refused; beta cannot pull alpha's work", async () => {
    if (relay) expect(await relay.stop()).toBe(0);
    const queued = await world.rmm(
      'exec',
      '--wait',
      '0s',
      '-t',
      'name=alpha-1',
      '--',
      `echo t-forged >> ${world.ranFile}`,
    );
    expect(queued.exitCode, queued.stderr).toBe(75);
    const [row] = world.rows("a.Payload LIKE '%t-forged%'");
    expect(row?.Status).toBe('Delivered');
    const beta = await world.natsAs('relay-beta', PASSWORDS.RMM_NATS_RELAY_BETA_PASSWORD);
    try {
      const js = jetstream(beta);
      const forged = {
        v: 1,
        kind: 'finished',
        actionId: row?.ActionId,
        at: new Date().toISOString(),
        status: 'Succeeded',
        exitCode: 0,
        stdout: 'forged\n',
        stderr: '',
        stdoutDropped: 0,
        stderrDropped: 0,
        durationMs: 1,
      };
      // Under the message id anyone can compute from the ActionId: JetStream's duplicate window is
      // one per stream, so had the real report used it, it would now be dropped as a duplicate.
      await js.publish('rmm.results.relay-beta', JSON.stringify(forged), {
        msgID: `${row?.ActionId}.finished`,
      });
      // Untrusted input: an unreadable report is refused and audited; one over 1 MiB never arrives.
      await js.publish('rmm.results.relay-beta', '{"v":1,"kind":"finished","actionId":"not-a-uuid"');
      await expect(js.publish('rmm.results.relay-beta', 'x'.repeat(1_100_000))).rejects.toThrow();
      // relay-beta's user may not read relay-alpha's consumer, nor publish relay-alpha's results.
      await expect(js.consumers.get('RMM_WORK', 'relay-alpha')).rejects.toThrow();
      await expect(
        js.publish('rmm.results.relay-alpha', JSON.stringify(forged), { msgID: randomUUID(), timeout: 2000 }),
      ).rejects.toThrow();
    } finally {
      await beta.close();
    }
    const collected = await world.rmm('actions', 'collect', '--wait', '2s');
    expect(collected.exitCode, collected.stderr).toBe(0);
    expect(world.rows(`a.ActionId = '${row?.ActionId}'`)[0]?.Status).toBe('Delivered');
    const refused = audit("Action = 'queue.report-refused relay/relay-beta'");
    expect(refused).toHaveLength(2);
    expect(refused.map((r) => r.Success)).toEqual([0, 0]);
    expect(refused[0]?.Details).toContain(row?.ActionId ?? 'none');
    expect(refused[0]?.Details).not.toContain('forged\\n');
    expect(JSON.parse(refused[1]?.Details ?? '{}').problem).toEqual(expect.any(String));

    // The real relay's report still ends it, with what really ran.
    relay = world.startRelay();
    await waitFor(
      'the real result',
      async () => {
        await world.rmm('actions', 'collect', '--wait', '1s');
        return world.rows(`a.ActionId = '${row?.ActionId}'`)[0]?.Status === 'Succeeded' || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(await tokens('t-forged')).toBe(1);
  }, 120_000);

  it('rmm actions cancel withdraws a Delivered action the relay has not taken; one it runs is too late', async () => {
    if (relay) expect(await relay.stop()).toBe(0);
    relay = undefined;
    const queued = await world.rmm(
      'exec',
      '--wait',
      '0s',
      '-t',
      'name=alpha-2',
      '--',
      `echo t-cancel >> ${world.ranFile}`,
    );
    expect(queued.exitCode, queued.stderr).toBe(75);
    const [row] = world.rows("a.Payload LIKE '%t-cancel >>%'");
    const cancelled = await world.rmm('actions', 'cancel', row?.ActionId ?? '');
    expect(cancelled.exitCode, cancelled.stderr).toBe(0);
    expect(world.rows(`a.ActionId = '${row?.ActionId}'`)[0]?.Status).toBe('Cancelled');

    relayRunning();
    const running = await world.rmm(
      'exec',
      '--wait',
      '0s',
      '-t',
      'name=alpha-3',
      '--',
      `echo t-late-cancel >> ${world.ranFile}; sleep 2`,
    );
    expect(running.exitCode).toBe(75);
    const [taken] = world.rows("a.Payload LIKE '%t-late-cancel >>%'");
    await waitFor('the relay running it', async () =>
      (await tokens('t-late-cancel')) === 1 ? true : undefined,
    );
    const late = await world.rmm('actions', 'cancel', taken?.ActionId ?? '');
    expect(late.exitCode).toBe(1);
    expect(late.stderr + late.stdout).toMatch(/has taken it already \(too-late\); it may still run/);
    await waitFor(
      'its result',
      async () => {
        await world.rmm('actions', 'collect', '--wait', '1s');
        return world.rows(`a.ActionId = '${taken?.ActionId}'`)[0]?.Status === 'Succeeded' || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // The withdrawn one never ran, now that the relay is back.
    expect(await tokens('t-cancel')).toBe(0);
    expect(await tokens('t-late-cancel')).toBe(1);
  }, 90_000);

  it('rmm status shows the relay connected, with nothing queued, once its results are in', async () => {
    const status = await world.rmm('status');
    expect(status.stdout).toMatch(/relay-alpha \(relay\): connected, last seen .+, 0 queued/);
    expect(status.stdout).toMatch(/relay-beta \(relay\): /);
  });

  it('no secret crossed NATS or reached a store or log: the device key and the NATS passwords', async () => {
    const key = readFileSync(world.sshd.clientKeyPath, 'utf8');
    const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'))[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(40);
    const secrets = [keyBody, ...Object.values(PASSWORDS)];
    const files = [...walk(world.nats.storeDir), world.db, ...walk(world.relayDataDir, ['credentials'])];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const text = readFileSync(file).toString('latin1');
      for (const secret of secrets)
        expect(text.includes(secret), `${secret.slice(0, 6)}... in ${file}`).toBe(false);
    }
    for (const secret of secrets) expect(relay?.log() ?? '').not.toContain(secret);
  });
});

/** Every file under dir, except the folders named in skip (the relay's own credentials/). */
function walk(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return skip.includes(entry.name) ? [] : walk(full, skip);
    return entry.isFile() ? [full] : [];
  });
}
