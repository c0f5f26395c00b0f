import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocumentResult } from '../../src/check/check-document.js';
import { resultCache } from '../../src/check/result-cache.js';
import { validateInputs } from '../../src/validate.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const device = (name: string, extra = '') =>
  `apiVersion: rmm/v1\nkind: Device\nmetadata: {name: ${name}}\nspec:\n  site: main\n  groups: [g1, g2]\n${extra}`;
const group = 'apiVersion: rmm/v1\nkind: DeviceGroup\nmetadata: {name: g1}\nspec: {site: main, policy: p1}\n';
const entries = () =>
  readdirSync(path.join(dir, 'cache', 'check')).filter((f) => /^[0-9a-f]{64}\.json$/.test(f));

describe('the check result cache', () => {
  it('gives back exactly what was stored, including empty documents, refs and images', () => {
    const cache = resultCache(path.join(dir, 'cache'));
    const results: DocumentResult[] = [
      { diagnostics: [], empty: true },
      {
        diagnostics: [],
        refs: { kind: 'DeviceGroup', name: 'g1', site: 'main', parent: 'g0', policy: 'p1' },
        declared: { kind: 'DeviceGroup', name: 'g1', image: '["g1",null,"tab\\there",{"k":"é"}]' },
      },
      {
        diagnostics: [],
        refs: { kind: 'Device', name: 'd1', site: 'main', groups: ['g1', 'g2'] },
        declared: { kind: 'Device', name: 'd1', image: '["D1"]' },
      },
    ];
    cache.set('text', results);
    cache.flush();
    expect(resultCache(path.join(dir, 'cache')).get('text')).toEqual(results);
    expect(resultCache(path.join(dir, 'cache')).get('other text')).toBeUndefined();
  });

  it('treats a torn, foreign or expired entry as a miss', () => {
    const cache = resultCache(path.join(dir, 'cache'));
    cache.set('text', [{ diagnostics: [], empty: true }]);
    cache.flush();
    const [entry] = entries();
    const file = path.join(dir, 'cache', 'check', entry as string);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.slice(0, -1)); // the last newline missing: cut short
    expect(resultCache(path.join(dir, 'cache')).get('text')).toBeUndefined();
    writeFileSync(file, good.replace('rmm-check-cache', 'other-format'));
    expect(resultCache(path.join(dir, 'cache')).get('text')).toBeUndefined();
    writeFileSync(file, good);
    expect(resultCache(path.join(dir, 'cache')).get('text')).toBeDefined();
    const old = (Date.now() - 25 * 3600 * 1000) / 1000;
    utimesSync(file, old, old);
    expect(resultCache(path.join(dir, 'cache')).get('text')).toBeUndefined();
    // The next run that writes removes it.
    const next = resultCache(path.join(dir, 'cache'));
    next.set('new text', [{ diagnostics: [], empty: true }]);
    next.flush();
    expect(entries()).toHaveLength(1);
    expect(entries()).not.toContain(entry);
  });

  it('counts its hits and misses, a torn entry as a miss', () => {
    const first = resultCache(path.join(dir, 'cache'));
    expect(first.get('text')).toBeUndefined();
    first.set('text', [{ diagnostics: [], empty: true }]);
    first.flush();
    expect(first.counts()).toEqual({ hits: 0, misses: 1 });
    const second = resultCache(path.join(dir, 'cache'));
    second.get('text');
    second.get('text');
    second.get('other');
    expect(second.counts()).toEqual({ hits: 2, misses: 1 });
    const file = path.join(dir, 'cache', 'check', entries()[0] as string);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, -1));
    const third = resultCache(path.join(dir, 'cache'));
    third.get('text');
    expect(third.counts()).toEqual({ hits: 0, misses: 1 });
  });

  it('finds a monitor conflict between files that are valid by themselves, cached or not', async () => {
    const corpus = path.join('test', 'corpus', 'invalid', 'monitor-conflict-unrelated-groups');
    const run = () =>
      validateInputs([corpus], { collect: true, cacheDir: path.join(dir, 'cache'), recursive: true });
    const first = (await run()).diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`);
    expect(first).toEqual(['8:21 conflict', '30:23 conflict']);
    expect(entries()).toHaveLength(3);
    expect((await run()).diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(first);
  });

  it('validateInputs reuses valid files, re-checks changed ones, and never caches a file with problems', async () => {
    const cacheDir = path.join(dir, 'cache');
    const input = path.join(dir, 'in');
    const write = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
    };
    rmSync(input, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(input);
    const files = { a: path.join(input, 'a.yaml'), b: path.join(input, 'b.yaml') };
    writeFileSync(files.a, `${device('d1')}---\n${device('d2')}`);
    writeFileSync(
      files.b,
      `${group}---\napiVersion: rmm/v1\nkind: DeviceGroup\nmetadata: {name: g2}\nspec: {}\n`,
    );
    write('p.yaml', 'apiVersion: rmm/v1\nkind: Policy\nmetadata: {name: p1}\nspec: {}\n');
    const run = () =>
      validateInputs([input, path.join(dir, 'p.yaml')], { collect: true, cacheDir, recursive: false });

    const first = await run();
    expect(first.diagnostics).toEqual([]);
    expect(entries()).toHaveLength(3);
    const second = await run();
    expect(second.resources.map((r) => [r.kind, r.name, r.image])).toEqual(
      first.resources.map((r) => [r.kind, r.name, r.image]),
    );

    // A changed file is checked again, and its problem reported with its position.
    writeFileSync(files.a, `${device('d1')}---\n${device('d2', '  bogus: 1\n')}`);
    const third = await run();
    expect(third.diagnostics.map((d) => `${path.basename(d.file)}:${d.line}:${d.column} ${d.code}`)).toEqual([
      'a.yaml:14:3 schema',
    ]);
    expect(entries()).toHaveLength(3);

    // The guess of what will miss, from sizes and times: a.yaml (invalid, so not recorded) and the
    // two files rewritten below; p.yaml and b.yaml as last seen.
    const cacheNow = resultCache(cacheDir);
    const { listedFiles } = await import('../../src/load/read-sources.js');
    const listed = listedFiles([files.a, files.b, path.join(dir, 'p.yaml')]);
    expect(cacheNow.likelyMissBytes(listed)).toBe(listed[0]?.size);

    // A cross-reference problem in an unchanged (cached) file is still found, with its position.
    writeFileSync(files.a, `${device('d1')}---\n${device('d2')}`);
    writeFileSync(files.b, group);
    const fourth = await run();
    expect(fourth.diagnostics.map((d) => `${path.basename(d.file)}:${d.line}:${d.column} ${d.code}`)).toEqual(
      ['a.yaml:6:16 reference', 'a.yaml:13:16 reference'],
    );
  });
});
