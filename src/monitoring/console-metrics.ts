import net from 'node:net';
import type { MonitorDemand } from './collector-request.js';

/**
 * The metrics the console measures itself rather than asking the device: `device.reachable` (1 when
 * this cycle's attempt reached the device, else 0) and `tcp.connect_ms{port}` (how long a TCP
 * connect from the console to the device's address and that port took).
 */
export interface ConsoleMeasures {
  reachable: boolean;
  /** Sorted, each once. */
  ports: readonly number[];
}

/** At most this many ports probed per device and cycle. */
export const MAX_PROBED_PORTS = 16;

/** What a device's monitors ask the console to measure; pure. A bad port is left out with a warning. */
export function consoleMeasures(monitors: readonly MonitorDemand[]): {
  measures: ConsoleMeasures;
  warnings: string[];
} {
  let reachable = false;
  const ports = new Set<number>();
  const warnings: string[] = [];
  for (const monitor of monitors) {
    const source = `policy ${monitor.policy}, monitor ${monitor.name}`;
    if (monitor.metric === 'device.reachable') reachable = true;
    if (monitor.metric !== 'tcp.connect_ms') continue;
    const text = monitor.match.port;
    const port = text !== undefined && /^[1-9]\d{0,4}$/.test(text) ? Number(text) : 0;
    if (port < 1 || port > 65535)
      warnings.push(`${source}: tcp.connect_ms needs match.port, a port number 1 to 65535; not measured`);
    else if (!ports.has(port) && ports.size >= MAX_PROBED_PORTS)
      warnings.push(`${source}: more than ${MAX_PROBED_PORTS} ports for one device; not measured`);
    else ports.add(port);
  }
  return { measures: { reachable, ports: [...ports].sort((a, b) => a - b) }, warnings };
}

/**
 * Milliseconds to a completed TCP handshake with host:port, or why none completed within
 * timeoutMs (refused, no route, timed out). The socket is closed at once: nothing is sent.
 * `clock` reads a monotonic time in ms.
 */
export function tcpConnectMs(
  host: string,
  port: number,
  timeoutMs: number,
  clock: () => number = () => performance.now(),
): Promise<{ ms: number } | { error: string }> {
  return new Promise((resolve) => {
    const started = clock();
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done({ error: `no connection within ${timeoutMs} ms` }), timeoutMs);
    const done = (result: { ms: number } | { error: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ ms: Math.round((clock() - started) * 100) / 100 }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
  });
}
