import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleMeasures, MAX_PROBED_PORTS, tcpConnectMs } from '../../src/monitoring/console-metrics.js';
import { freePort } from '../helpers/child-server.js';

const monitor = (metric: string, match: Record<string, string> = {}) => ({
  policy: 'p',
  name: `m-${metric}-${Object.values(match).join('')}`,
  metric,
  match,
});

describe('consoleMeasures', () => {
  it.each([
    { monitors: [], expected: { reachable: false, ports: [] }, warnings: 0 },
    { monitors: [monitor('device.reachable')], expected: { reachable: true, ports: [] }, warnings: 0 },
    {
      monitors: [monitor('tcp.connect_ms', { port: '443' }), monitor('tcp.connect_ms', { port: '22' })],
      expected: { reachable: false, ports: [22, 443] },
      warnings: 0,
    },
    {
      monitors: [monitor('tcp.connect_ms', { port: '443' }), monitor('tcp.connect_ms', { port: '443' })],
      expected: { reachable: false, ports: [443] },
      warnings: 0,
    },
    { monitors: [monitor('tcp.connect_ms')], expected: { reachable: false, ports: [] }, warnings: 1 },
    ...['0', '65536', '08', '22 ', '-1', '1e3', 'http'].map((port) => ({
      monitors: [monitor('tcp.connect_ms', { port })],
      expected: { reachable: false, ports: [] },
      warnings: 1,
    })),
    { monitors: [monitor('disk.used_percent')], expected: { reachable: false, ports: [] }, warnings: 0 },
  ])('$monitors.length monitors -> $expected', ({ monitors, expected, warnings }) => {
    const result = consoleMeasures(monitors);
    expect(result.measures).toEqual(expected);
    expect(result.warnings).toHaveLength(warnings);
  });

  it(`probes at most ${MAX_PROBED_PORTS} ports of one device`, () => {
    const many = Array.from({ length: 20 }, (_, i) => monitor('tcp.connect_ms', { port: String(1000 + i) }));
    const { measures, warnings } = consoleMeasures(many);
    expect(measures.ports).toHaveLength(MAX_PROBED_PORTS);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/policy p, monitor m-tcp.connect_ms-1016: more than 16 ports/);
  });
});

describe('tcpConnectMs', () => {
  let server: net.Server;
  let port: number;
  beforeAll(async () => {
    server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('measures the handshake with the injected clock', async () => {
    let tick = 0;
    const result = await tcpConnectMs('127.0.0.1', port, 5000, () => (tick += 12.345));
    expect(result).toEqual({ ms: 12.35 });
  });

  it('says why when nothing listens', async () => {
    const result = await tcpConnectMs('127.0.0.1', await freePort(), 5000);
    expect(result).toEqual({ error: 'ECONNREFUSED' });
  });
});
