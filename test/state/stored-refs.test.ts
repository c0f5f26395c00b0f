import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStoredRefs } from '../../src/state/stored-refs.js';
import { consoleDatabase } from '../helpers/console-db.js';

/**
 * What plan and apply read of the stored holders (sites, groups, devices) to check references and
 * overrides against: Settings edited by hand into other shapes are read as nothing attached, never
 * a crash (a JSON string under policies reads back bare from json_extract, which JSON.parse refused).
 */
const dir = mkdtempSync(path.join(tmpdir(), 'rmm-stored-refs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readStoredRefs on Settings edited by hand', () => {
  it('a string where a list belongs reads as nothing; overrides that name no monitor are dropped', () => {
    const db = consoleDatabase(path.join(dir, 'refs.db'), ['web-01']);
    try {
      const settings = db.prepare('INSERT INTO ManagedResources (Kind, Name, Settings) VALUES (?, ?, ?)');
      settings.run('Site', 'main', JSON.stringify({ policies: 'web', overrides: [null, { monitor: 5 }] }));
      settings.run(
        'Device',
        'web-01',
        JSON.stringify({ policies: 'web', overrides: [{ monitor: 'cpu-high' }] }),
      );
      const refs = readStoredRefs(db);
      const site = refs.find((r) => r.kind === 'Site' && r.name === 'main');
      expect(site).toMatchObject({ overrides: [] });
      expect(site?.policies).toBeUndefined();
      const device = refs.find((r) => r.kind === 'Device' && r.name === 'web-01');
      expect(device?.policies).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
