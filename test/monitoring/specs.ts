import type { MetricSpec } from '../../src/monitoring/metric-spec.js';

/** The metrics of the catalogue as collection sees them (the catalogue itself is src/monitoring/catalogue.ts). */
export const SPECS: readonly MetricSpec[] = [
  { name: 'cpu.percent', labels: [], kind: 'percent' },
  { name: 'memory.used_percent', labels: [], kind: 'percent' },
  { name: 'disk.used_percent', labels: ['mount'], kind: 'percent' },
  { name: 'disk.free_bytes', labels: ['mount'], kind: 'bytes' },
  { name: 'load.1m', labels: [], kind: 'number' },
  { name: 'uptime.seconds', labels: [], kind: 'seconds' },
  { name: 'service.running', labels: ['name'], kind: 'boolean' },
  { name: 'process.count', labels: ['name'], kind: 'count' },
  { name: 'reboot.pending', labels: [], kind: 'boolean' },
  { name: 'tcp.connect_ms', labels: ['port'], kind: 'ms' },
  { name: 'device.reachable', labels: [], kind: 'boolean' },
];
