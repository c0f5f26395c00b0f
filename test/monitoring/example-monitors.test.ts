import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { metricNamed, metricSpecs } from '../../src/monitoring/catalogue.js';
import { collectorRequest } from '../../src/monitoring/collector-request.js';
import {
  effectiveMonitors,
  type GroupLink,
  policiesReaching,
} from '../../src/monitoring/effective-monitors.js';
import type { DeviceGroupSpec, DeviceSpec, PolicySpec } from '../../src/resources/kinds.js';
import { repoRoot } from '../helpers/cli.js';

/**
 * The shipped example repository really monitors its devices: every device gets CPU, memory and
 * disk monitors from the example policies, on metrics its OS collects, with no tie between
 * policies, and the inventory schedule. The README applies these files first thing.
 */

interface Doc {
  kind: string;
  metadata: { name: string };
  spec: unknown;
}

/** The examples and the shipped baseline policies they use, as the README applies them. */
function exampleDocs(): Doc[] {
  return ['policies', 'examples'].flatMap((folder) => {
    const root = path.join(repoRoot, folder);
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
    return files.flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(root, f), 'utf8')).map((d) => d.toJS() as Doc),
    );
  });
}

const docs = exampleDocs();
const specsOf = <S>(kind: string) =>
  new Map(docs.filter((d) => d.kind === kind).map((d) => [d.metadata.name, d.spec as S]));
const policies = specsOf<PolicySpec>('Policy');
const groups = new Map<string, GroupLink>(
  [...specsOf<DeviceGroupSpec>('DeviceGroup')].map(([name, g]) => [
    name,
    { parent: g.parent ?? null, policy: g.policy ?? null, site: g.site ?? null },
  ]),
);
const devices = specsOf<DeviceSpec>('Device');

describe('the example repository monitors every example device', () => {
  it('has the devices the README promises', () => {
    expect(devices.size).toBe(150);
    expect(new Set([...devices.values()].map((d) => d.os))).toEqual(new Set(['linux', 'windows', 'macos']));
  });

  it.each([...devices.keys()])('%s: cpu, memory and disk monitors its OS collects, no tie', (name) => {
    const device = devices.get(name) as DeviceSpec;
    const link = { groups: device.groups ?? [], site: device.site ?? null };
    const { monitors, conflicts } = effectiveMonitors(link, groups, policies);
    expect(conflicts).toEqual([]);
    const metrics = new Set(monitors.map((m) => m.monitor.metric));
    for (const metric of ['cpu.percent', 'memory.used_percent', 'disk.used_percent'])
      expect(metrics, `${name} has no ${metric} monitor`).toContain(metric);
    for (const m of monitors) {
      const sources = metricNamed(m.monitor.metric)?.sources ?? [];
      expect(
        sources.includes(device.os as 'linux') || sources.includes('console'),
        `${m.policy}/${m.monitor.name}: ${m.monitor.metric} is not collected on ${device.os}`,
      ).toBe(true);
    }
    // What the collector is asked for is well formed: no monitor left out with a warning.
    const demands = monitors.map((m) => ({
      policy: m.policy,
      name: m.monitor.name,
      metric: m.monitor.metric,
      match: m.monitor.match ?? {},
    }));
    expect(collectorRequest(demands, metricSpecs()).warnings).toEqual([]);
    const schedules = policiesReaching(link, groups).flatMap((r) => policies.get(r.policy)?.schedules ?? []);
    expect(schedules.map((s) => `${s.action} every ${s.every}`)).toContain('inventory every 24h');
  });

  it('a drive letter is watched only where the OS names mounts so, a path only where it does', () => {
    for (const [name, device] of devices) {
      const { monitors } = effectiveMonitors(
        { groups: device.groups ?? [], site: device.site ?? null },
        groups,
        policies,
      );
      for (const m of monitors) {
        const mount = m.monitor.match?.mount;
        if (mount === undefined) continue;
        expect(/^[A-Z]:$/.test(mount), `${name}: ${m.policy}/${m.monitor.name} watches mount ${mount}`).toBe(
          device.os === 'windows',
        );
      }
    }
  });
});
