import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWinrmTransport } from '../../plugins/winrm/src/transport.js';
import type { DeviceRecord } from '../../src/actions/targets.js';
import { collectRound } from '../../src/monitoring/collect-round.js';
import { parseCollectorOutput } from '../../src/monitoring/collector-output.js';
import { collectorRequest, type MonitorDemand } from '../../src/monitoring/collector-request.js';
import { collectorInvocation } from '../../src/monitoring/collector-scripts.js';
import { SessionPool } from '../../src/monitoring/session-pool.js';
import { TRANSPORT_API_VERSION, TransportError } from '../../src/plugin/api.js';
import { WINDOWS_METRICS_OUTPUT, WINDOWS_METRICS_REQUEST } from '../fixtures/monitoring/windows-metrics.js';
import { testSecret } from '../helpers/transport.js';
import { startWinrmPeer, type WinrmPeer } from '../helpers/winrm-peer/index.js';
import { SPECS } from '../monitoring/specs.js';

/**
 * The Windows metric collector through the real WinRM plugin, against the WS-Management test peer
 * (NTLM with message encryption on HTTP). No PowerShell runs here: the peer checks that what
 * arrived is collectors/windows/metrics.ps1 with the request the monitors make, and answers with
 * the HAND-WRITTEN output of test/fixtures/monitoring/windows-metrics.ts (labelled so there; not
 * recorded from a Windows host). Everything on the console's side is real: the encoded command,
 * the transport, the pool and the parser.
 */
const transport = createWinrmTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
const USER = 'rmm-svc';
const PASSWORD = 'Winrm-Pa55!';
const AT = Date.UTC(2026, 0, 5, 12, 0, 0);

/** The monitors whose request is the fixture's: every disk, C:'s free bytes, two services, svchost, load. */
const demand = (metric: string, match: Record<string, string> = {}): MonitorDemand => ({
  policy: 'windows-baseline',
  name: `${metric}${Object.values(match).join('')}`,
  metric,
  match,
});
const MONITORS: MonitorDemand[] = [
  demand('cpu.percent'),
  demand('memory.used_percent'),
  demand('disk.used_percent'),
  demand('disk.free_bytes', { mount: 'C:' }),
  demand('uptime.seconds'),
  demand('service.running', { name: 'Spooler' }),
  demand('service.running', { name: 'W3SVC' }),
  demand('process.count', { name: 'svchost.exe' }),
  demand('reboot.pending'),
  demand('load.1m'),
];
const { request, warnings: requestWarnings } = collectorRequest(MONITORS, SPECS);

const lines = (text: string) => new Set(text.split('\n').filter((l) => l !== ''));

let collector: string;
let peer: WinrmPeer;
/** What each collector call asked for, decoded from the script the peer received. */
const asked: string[] = [];
beforeAll(async () => {
  collector = await readFile(path.join('collectors', 'windows', 'metrics.ps1'), 'utf8');
  peer = await startWinrmPeer({
    users: { [USER]: PASSWORD },
    auth: ['ntlm'],
    // The script arrives as -EncodedCommand, or on stdin to the bootstrap when too long for a command line.
    onPowershell: async (script, stdin) => {
      const sent = stdin.length > 0 ? stdin.toString('utf8') : script;
      const [first, ...rest] = sent.split('\r\n');
      const base64 = /^\$RmmRequest = '([A-Za-z0-9+/=]*)'$/.exec(first ?? '')?.[1];
      if (base64 === undefined || rest.join('\r\n') !== collector)
        return { stdout: '', stderr: 'not the metric collector\r\n', exitCode: 1 };
      const wanted = Buffer.from(base64, 'base64').toString('utf8');
      asked.push(wanted);
      // The fixture answers one request: anything else would be parsed against the wrong question.
      if (
        JSON.stringify([...lines(wanted)].sort()) !==
        JSON.stringify([...lines(WINDOWS_METRICS_REQUEST)].sort())
      )
        return { stdout: '', stderr: `unexpected request ${JSON.stringify(wanted)}\r\n`, exitCode: 1 };
      return { stdout: WINDOWS_METRICS_OUTPUT, exitCode: 0 };
    },
  });
  process.env.RMM_TEST_WINRM_PASSWORD = PASSWORD;
});
afterAll(async () => {
  await peer?.stop();
  delete process.env.RMM_TEST_WINRM_PASSWORD;
});
afterEach(() => {
  asked.length = 0;
});

const EXPECTED = [
  ['cpu.percent', {}, 7],
  ['memory.used_percent', {}, 63.41],
  ['uptime.seconds', {}, 1209644],
  ['disk.used_percent', { mount: 'C:' }, 42.69],
  ['disk.used_percent', { mount: 'D:' }, 25.01],
  ['disk.free_bytes', { mount: 'C:' }, 61234520064],
  ['service.running', { name: 'Spooler' }, 1],
  ['service.running', { name: 'W3SVC' }, 0],
  ['process.count', { name: 'svchost.exe' }, 74],
  ['reboot.pending', {}, 1],
];
const LOAD_UNREAD = 'load.1m{} not collected: the device says "not collected on Windows"';

describe('the Windows metric collector over WinRM (the test peer answering with hand-written output)', () => {
  it('asks in one round trip, and the answer parses into samples', async () => {
    expect(requestWarnings).toEqual([]);
    const session = await transport.connect(
      { name: 'srv-file01', host: '127.0.0.1', os: 'windows', options: { port: peer.port } },
      { user: USER, secret: testSecret('env:RMM_TEST_WINRM_PASSWORD', PASSWORD), connectTimeoutMs: 5000 },
    );
    try {
      const commandsBefore = peer.stats.commands;
      const invocation = await collectorInvocation('windows', request);
      const result = await session.exec(invocation.command, {
        timeoutMs: 15_000,
        ...(invocation.stdin === undefined ? {} : { stdin: invocation.stdin }),
      });
      expect(result.stderr.toString()).toBe('');
      expect(result.exitCode).toBe(0);
      expect(peer.stats.commands - commandsBefore).toBe(1);
      expect(asked).toHaveLength(1);
      const parsed = parseCollectorOutput(result.stdout, {
        device: 'srv-file01',
        at: AT,
        specs: SPECS,
        request,
      });
      expect(parsed.warnings.map((w) => w.message)).toEqual([LOAD_UNREAD]);
      expect(parsed.samples.map((s) => [s.metric, s.labels, s.value])).toEqual(EXPECTED);
      expect(parsed.samples.every((s) => s.device === 'srv-file01' && s.at === AT)).toBe(true);
    } finally {
      await session.close();
    }
  }, 30_000);

  it('a collection round over a WinRM device, on the session pool, keeps its session between rounds', async () => {
    const clock = { time: AT };
    const device: DeviceRecord = {
      name: 'srv-file01',
      host: '127.0.0.1',
      os: 'windows',
      site: 'alpha',
      groups: ['windows-servers'],
      labels: {},
      transport: { type: 'winrm', port: peer.port, user: USER, credentialRef: 'env:RMM_TEST_WINRM_PASSWORD' },
    };
    const pool = new SessionPool({
      transports: new Map([['winrm', transport]]),
      credentials: { envPrefixes: ['RMM_'], dirs: [] },
      now: () => clock.time,
      random: () => 0.5,
    });
    const before = { ...peer.stats };
    try {
      const round = () =>
        collectRound([{ device, request, measures: { reachable: true, ports: [] } }], {
          pool,
          specs: SPECS,
          now: () => clock.time,
          concurrency: 1,
          deviceTimeoutMs: 15_000,
        });
      const first = await round();
      expect(first.warnings.map((w) => w.message)).toEqual([LOAD_UNREAD]);
      expect(first.reachability).toEqual([
        expect.objectContaining({ device: 'srv-file01', reachable: true }),
      ]);
      expect(first.samples.map((s) => [s.metric, s.labels, s.value])).toEqual([
        ['device.reachable', {}, 1],
        ...EXPECTED,
      ]);
      clock.time += 60_000;
      const second = await round();
      expect(second.samples).toHaveLength(first.samples.length);
      expect(second.samples.every((s) => s.at === clock.time)).toBe(true);
      // Two rounds, two collector calls, one logon and one shell: the session was kept open.
      expect(asked).toHaveLength(2);
      expect(peer.stats.commands - before.commands).toBe(2);
      expect(peer.stats.authentications - before.authentications).toBe(1);
      expect(peer.stats.shellsCreated - before.shellsCreated).toBe(1);
      expect(pool.stats().connects).toBe(1);
    } finally {
      await pool.close();
    }
    expect(peer.stats.shellsOpen).toBe(0);
  }, 30_000);
});
