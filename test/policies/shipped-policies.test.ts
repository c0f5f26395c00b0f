import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { metricNamed, metricSpecs, type Source } from '../../src/monitoring/catalogue.js';
import { collectorRequest } from '../../src/monitoring/collector-request.js';
import type { PolicySpec } from '../../src/resources/kinds.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/**
 * The policies rmm ships in policies/ (docs/policies.md) are valid, watch only metrics their OS
 * collects, cover CPU, memory and disk with a daily inventory, and are the ones the docs describe.
 */

interface PolicyDoc {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: PolicySpec;
}

const folder = path.join(repoRoot, 'policies');
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml'));
const shipped = files.map((file) => ({
  file,
  doc: parseDocument(readFileSync(path.join(folder, file), 'utf8')).toJS() as PolicyDoc,
}));
const docs = readFileSync(path.join(repoRoot, 'docs', 'policies.md'), 'utf8');

describe('shipped policies', () => {
  it('are the four baselines the design names, one per file named after it', () => {
    expect(shipped.map((p) => p.doc.metadata.name).sort()).toEqual([
      'linux-server-baseline',
      'macos-baseline',
      'windows-server-baseline',
      'windows-workstation-baseline',
    ]);
    for (const { file, doc } of shipped) {
      expect(doc.kind).toBe('Policy');
      expect(file).toBe(`${doc.metadata.name}.yaml`);
    }
  });

  it('validate cleanly, without a warning', async () => {
    const result = await runCli(['validate', '-f', folder], {
      cwd: mkdtempSync(path.join(tmpdir(), 'rmm-shipped-')),
    });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Valid: ${shipped.length} resources`);
  });

  it.each(shipped.map((p) => [p.doc.metadata.name, p.doc] as const))(
    '%s watches only what its OS collects, and cpu, memory, disk and inventory',
    (name, doc) => {
      const os = doc.metadata.labels?.os as Source;
      expect(['linux', 'windows', 'macos']).toContain(os);
      const monitors = doc.spec.monitors ?? [];
      for (const m of monitors)
        expect(metricNamed(m.metric)?.sources, `${name}/${m.name}: ${m.metric} on ${os}`).toContain(os);
      const metrics = new Set(monitors.map((m) => m.metric));
      for (const metric of ['cpu.percent', 'memory.used_percent', 'disk.used_percent'])
        expect(metrics, `${name} has no ${metric} monitor`).toContain(metric);
      const demands = monitors.map((m) => ({
        policy: name,
        name: m.name,
        metric: m.metric,
        match: m.match ?? {},
      }));
      expect(collectorRequest(demands, metricSpecs()).warnings).toEqual([]);
      // Windows names a mount by its drive letter, POSIX by its path.
      for (const m of monitors.filter((m) => m.match?.mount !== undefined))
        expect(m.match?.mount, `${name}/${m.name}`).toMatch(os === 'windows' ? /^[A-Z]:$/ : /^\//);
      expect((doc.spec.schedules ?? []).map((s) => `${s.action} every ${s.every}`)).toContain(
        'inventory every 24h',
      );
    },
  );

  it.each(shipped.map((p) => [p.doc.metadata.name, p.doc] as const))(
    '%s and each of its monitors are described in docs/policies.md',
    (name, doc) => {
      const section = docs.split(/^## /m).find((s) => s.startsWith(`\`${name}\``));
      expect(section, `docs/policies.md has no "## \`${name}\`" section`).toBeDefined();
      for (const m of doc.spec.monitors ?? [])
        expect(section, `${name}/${m.name}`).toContain(`\`${m.name}\``);
    },
  );
});
