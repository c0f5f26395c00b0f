import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshTransport } from '../../plugins/ssh/src/transport.js';
import { decodeEncodedCommand } from '../../src/actions/powershell.js';
import { parseCollectorOutput } from '../../src/monitoring/collector-output.js';
import {
  type CollectorRequest,
  collectorRequest,
  DEVICE_COLLECTED,
  type MonitorDemand,
  requestText,
} from '../../src/monitoring/collector-request.js';
import { collectorInvocation, loadMetricCollector } from '../../src/monitoring/collector-scripts.js';
import { TRANSPORT_API_VERSION, TransportError } from '../../src/plugin/api.js';
import { WINDOWS_METRICS_OUTPUT, WINDOWS_METRICS_REQUEST } from '../fixtures/monitoring/windows-metrics.js';
import {
  findPowershell7Syntax,
  formatProblem,
  parsePowershell,
  walk,
} from '../helpers/powershell-grammar.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { testSecret } from '../helpers/transport.js';
import { SPECS } from './specs.js';

const AT = 1_714_564_800_000;
const demand = (metric: string, match: Record<string, string> = {}): MonitorDemand => ({
  policy: 'baseline',
  name: `${metric}:${JSON.stringify(match)}`,
  metric,
  match,
});
/** The hostile names: each is only ever a name to look up. */
const HOSTILE = [
  "x'; touch pwned-quote; '",
  '$(touch pwned-subst)',
  '`touch pwned-tick`',
  '-rf',
  '*',
  'a b\\c',
];
const pid1 = readFileSync('/proc/1/comm', 'utf8').trim();
const { request } = collectorRequest(
  [
    ...[...DEVICE_COLLECTED.keys()]
      .filter((metric) => DEVICE_COLLECTED.get(metric) === 'every-instance')
      .map((m) => demand(m)),
    demand('process.count', { name: pid1 }),
    demand('process.count', { name: 'no-such-process' }),
    demand('service.running', { name: 'ssh' }),
    ...HOSTILE.map((name) => demand('process.count', { name })),
  ],
  SPECS,
);

/** df -kP /: used and available KiB, and its Capacity. */
async function dfRoot(): Promise<{ used: number; available: number; capacity: number }> {
  const row = (await execa('df', ['-kP', '/'])).stdout.split('\n')[1] as string;
  const [, , used, available, capacity] = row.trim().split(/\s+/);
  return {
    used: Number(used),
    available: Number(available),
    capacity: Number.parseInt(capacity as string, 10),
  };
}

function memoryUsedPercent(): number {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1]);
  return ((kb('MemTotal') - kb('MemAvailable')) * 100) / kb('MemTotal');
}

/** What this machine is, checked against the samples its collector reported. */
async function expectThisMachine(output: string, asked: CollectorRequest): Promise<void> {
  const { samples, warnings } = parseCollectorOutput(output, {
    device: 'here',
    at: AT,
    specs: SPECS,
    request: asked,
  });
  const value = (metric: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.metric === metric && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
  const systemd = existsSync('/run/systemd/system');
  expect(warnings.map((w) => w.message)).toEqual(
    systemd
      ? []
      : ['service.running{name=ssh} not collected: the device says "this device does not run systemd"'],
  );
  expect(samples.every((s) => s.device === 'here' && s.at === AT)).toBe(true);

  const df = await dfRoot();
  const used = value('disk.used_percent', { mount: '/' }) as number;
  expect(Math.abs(used - df.capacity)).toBeLessThanOrEqual(1);
  expect(Math.abs(used - (df.used * 100) / (df.used + df.available))).toBeLessThan(0.1);
  const free = value('disk.free_bytes', { mount: '/' }) as number;
  expect(Math.abs(free - df.available * 1024) / (df.available * 1024)).toBeLessThan(0.01);
  expect(samples.filter((s) => s.metric === 'disk.used_percent').map((s) => s.labels.mount)).not.toContain(
    '/dev',
  );

  expect(Math.abs((value('memory.used_percent') as number) - memoryUsedPercent())).toBeLessThan(5);
  expect(Math.abs((value('uptime.seconds') as number) - os.uptime())).toBeLessThan(30);
  expect(value('load.1m')).toBeGreaterThanOrEqual(0);
  expect(value('cpu.percent')).toBeGreaterThanOrEqual(0);
  expect(value('reboot.pending')).toBe(existsSync('/var/run/reboot-required') ? 1 : 0);
  expect(value('process.count', { name: pid1 })).toBeGreaterThanOrEqual(1);
  expect(value('process.count', { name: 'no-such-process' })).toBe(0);
  for (const name of HOSTILE) expect(value('process.count', { name }), name).toBe(0);
  if (systemd) expect(value('service.running', { name: 'ssh' })).toBeTypeOf('number');
}

describe('the Linux metric collector', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'rmm-metrics-'));
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('run on this machine, reports what this machine is, and writes nothing', async () => {
    const { command, stdin } = await collectorInvocation('linux', request);
    const run = await execa('/bin/sh', ['-c', command], { input: stdin, cwd, reject: false });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    await expectThisMachine(run.stdout.concat('\n'), request);
    // No file appears where it ran: not from the hostile names, nor from an awk `print > x`.
    expect(await readdir(cwd)).toEqual([]);
  });

  it('is POSIX sh that dash reads, and says it cannot collect what Linux does not have', async () => {
    for (const shell of ['sh', 'dash'])
      for (const os of ['linux', 'macos'] as const) {
        const syntax = await execa(shell, ['-n'], { input: await loadMetricCollector(os), reject: false });
        expect(syntax.stderr, `${shell} -n ${os}`).toBe('');
      }
    const asked = { metrics: [{ metric: 'gpu.percent', instances: 'all' as const }] };
    const { command, stdin } = await collectorInvocation('linux', asked);
    expect((await execa('/bin/sh', ['-c', command], { input: stdin, cwd })).stdout).toBe(
      '#rmm-metrics 1\n!\tgpu.percent\t\tnot collected on Linux\n#end',
    );
  });

  describe('through OpenSSH', () => {
    let sshd: Sshd;
    beforeAll(async () => {
      sshd = await startSshd();
      // The console allows the sshd's folder, where its known_hosts file is.
      process.env.RMM_KNOWN_HOSTS_DIRS = sshd.dir;
    }, 30_000);
    afterAll(async () => {
      await sshd?.stop();
    });

    it('one exec returns every wanted metric', async () => {
      const transport = createSshTransport({ apiVersion: TRANSPORT_API_VERSION, TransportError });
      const session = await transport.connect(
        {
          name: 'here',
          host: '127.0.0.1',
          os: 'linux',
          options: { port: sshd.port, knownHosts: sshd.knownHostsPath },
        },
        {
          user: sshd.user,
          secret: testSecret(`file:${sshd.clientKeyPath}`, await readFile(sshd.clientKeyPath)),
          connectTimeoutMs: 5000,
        },
      );
      try {
        const { command, stdin } = await collectorInvocation('linux', request);
        const result = await session.exec(command, { stdin, timeoutMs: 30_000 });
        expect(result.stderr.toString()).toBe('');
        expect(result.exitCode).toBe(0);
        await expectThisMachine(result.stdout.toString(), request);
      } finally {
        await session.close();
      }
    }, 60_000);
  });
});

describe('the Windows metric collector', () => {
  const file = path.join('collectors', 'windows', 'metrics.ps1');
  const script = readFileSync(file, 'utf8');
  const parsed = parsePowershell(script);

  it('is Windows PowerShell 5.1 with no syntax error', () => {
    expect(parsed.errors.map(formatProblem)).toEqual([]);
    expect(findPowershell7Syntax(parsed.tree.rootNode).map(formatProblem)).toEqual([]);
    expect(script).toMatch(/^[ -~\t\r\n]*$/);
  });

  it('only reads: Get- commands and its own helpers', () => {
    const commands = new Set(
      [...walk(parsed.tree.rootNode)].filter((n) => n.type === 'command_name').map((n) => n.text),
    );
    expect([...commands].sort()).toEqual([
      'Add-Sample',
      'Add-Unread',
      'Get-CimInstance',
      'Get-Date',
      'Get-ItemProperty',
      'Get-Process',
      'Get-Service',
      'Measure-Object',
      'New-Object',
      'Sort-Object',
      'Test-Path',
      'Where-Object',
      'Write-Output',
    ]);
    expect(script).not.toMatch(/Invoke-Expression|iex |Set-|Remove-|Stop-|Start-|Restart-/);
  });

  it('knows every metric the devices collect, but load.1m', () => {
    const known = /\$known = @\(([^)]*)\)/
      .exec(script)?.[1]
      ?.match(/'[^']+'/g)
      ?.map((m) => m.slice(1, -1));
    expect(known?.sort()).toEqual([...DEVICE_COLLECTED.keys()].filter((m) => m !== 'load.1m').sort());
  });

  it('travels as an encoded command carrying the request as base64, whatever the names hold', async () => {
    const { request: hostile } = collectorRequest(
      ["Spooler'; Remove-Item C:\\ -Recurse; '", '$(Stop-Computer)'].map((name) =>
        demand('service.running', { name }),
      ),
      SPECS,
    );
    const invocation = await collectorInvocation('windows', hostile);
    // Longer than a command line allows, so the script goes on stdin to the bootstrap.
    const sent = invocation.stdin ?? decodeEncodedCommand(invocation.command) ?? '';
    expect(decodeEncodedCommand(invocation.command)).toBeDefined();
    const [first, ...rest] = sent.split('\r\n');
    const base64 = /^\$RmmRequest = '([A-Za-z0-9+/=]*)'$/.exec(first as string)?.[1] ?? '';
    expect(Buffer.from(base64, 'base64').toString('utf8')).toBe(requestText(hostile));
    expect(rest.join('\r\n')).toBe(script);
    expect(sent).not.toContain('Remove-Item');
    expect(parsePowershell(sent).errors).toEqual([]);
  });

  it('its output (hand-written fixture) parses into samples', () => {
    const wanted = new Map<string, string[] | 'all'>();
    for (const line of WINDOWS_METRICS_REQUEST.trim().split('\n')) {
      const [metric, instance] = line.split('\t') as [string, string | undefined];
      const known = wanted.get(metric);
      wanted.set(metric, instance === undefined ? 'all' : [...(Array.isArray(known) ? known : []), instance]);
    }
    const asked: CollectorRequest = {
      metrics: [...wanted].map(([metric, instances]) => ({ metric, instances })),
    };
    const { samples, warnings } = parseCollectorOutput(WINDOWS_METRICS_OUTPUT, {
      device: 'srv-file01',
      at: AT,
      specs: SPECS,
      request: asked,
    });
    expect(warnings.map((w) => w.message)).toEqual([
      'load.1m{} not collected: the device says "not collected on Windows"',
    ]);
    expect(samples.map((s) => [s.metric, s.labels, s.value])).toEqual([
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
    ]);
  });
});
