import { describe, expect, it } from 'vitest';
import { collectorRequest, type MonitorDemand, requestText } from '../../src/monitoring/collector-request.js';
import { SPECS } from './specs.js';

const monitor = (
  metric: string,
  match: Record<string, string> = {},
  name = `${metric}-watch`,
): MonitorDemand => ({
  policy: 'baseline',
  name,
  metric,
  match,
});

describe('collectorRequest', () => {
  it('asks each metric once, with the instances the monitors name, or every instance when one names none', () => {
    const { request, warnings } = collectorRequest(
      [
        monitor('disk.used_percent', { mount: '/var' }),
        monitor('disk.used_percent', { mount: '/' }),
        monitor('disk.used_percent', { mount: '/var' }, 'again'),
        monitor('disk.free_bytes', { mount: '/srv' }),
        monitor('disk.free_bytes'),
        monitor('service.running', { name: 'sshd' }),
        monitor('cpu.percent'),
        monitor('cpu.percent', {}, 'cpu-critical'),
      ],
      SPECS,
    );
    expect(warnings).toEqual([]);
    expect(request.metrics).toEqual([
      { metric: 'cpu.percent', instances: 'all' },
      { metric: 'disk.free_bytes', instances: 'all' },
      { metric: 'disk.used_percent', instances: ['/', '/var'] },
      { metric: 'service.running', instances: ['sshd'] },
    ]);
    expect(requestText(request)).toBe(
      'cpu.percent\ndisk.free_bytes\ndisk.used_percent\t/\ndisk.used_percent\t/var\nservice.running\tsshd\n',
    );
  });

  it('leaves out the metrics the console measures itself', () => {
    const { request, warnings } = collectorRequest(
      [monitor('tcp.connect_ms', { port: '443' }), monitor('device.reachable')],
      SPECS,
    );
    expect(request.metrics).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it.each([
    [monitor('cpu.procent'), 'metric cpu.procent is not in the catalogue'],
    [monitor('service.running'), 'service.running needs match.name (which one to watch)'],
    [monitor('process.count'), 'process.count needs match.name (which one to watch)'],
    [monitor('disk.used_percent', { name: '/' }), 'disk.used_percent has no label "name"'],
    [monitor('cpu.percent', { core: '0' }), 'cpu.percent has no label "core"'],
    [
      monitor('service.running', { name: 'a\nb' }),
      'match.name must be 1 to 256 characters without control characters',
    ],
    [
      monitor('service.running', { name: 'a\tb' }),
      'match.name must be 1 to 256 characters without control characters',
    ],
    [
      monitor('service.running', { name: '' }),
      'match.name must be 1 to 256 characters without control characters',
    ],
    [monitor('service.running', { name: 'x'.repeat(257) }), 'match.name must be 1 to 256 characters'],
  ])('refuses a monitor it cannot serve, naming it: %#', (demand, problem) => {
    const { request, warnings } = collectorRequest([demand, monitor('memory.used_percent')], SPECS);
    expect(request.metrics).toEqual([{ metric: 'memory.used_percent', instances: 'all' }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`policy baseline, monitor ${demand.name}: ${problem}`);
    expect(warnings[0]).toMatch(/; not collected$/);
  });

  it('asks for at most 256 instances of a metric', () => {
    const demands = Array.from({ length: 260 }, (_, i) =>
      monitor('process.count', { name: `p${i}` }, `m${i}`),
    );
    const { request, warnings } = collectorRequest(demands, SPECS);
    expect(request.metrics[0]?.instances).toHaveLength(256);
    expect(warnings).toHaveLength(4);
  });

  it('keeps names from YAML whole on the wire: quotes, $(...), spaces and backslashes are plain text', () => {
    const names = ["it's", '$(touch /tmp/x)', '`id`', 'a b\\c', '-rf', '*'];
    const { request } = collectorRequest(
      names.map((name) => monitor('service.running', { name }, name)),
      SPECS,
    );
    const lines = requestText(request).split('\n').filter(Boolean);
    expect(lines.map((line) => line.split('\t'))).toEqual(
      [...names].sort().map((name) => ['service.running', name]),
    );
  });
});
