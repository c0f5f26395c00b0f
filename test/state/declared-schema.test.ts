import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRmmError, type RmmError } from '../../src/errors.js';
import { databaseSchemaFile } from '../../src/paths.js';
import { loadDeclaredSchema } from '../../src/state/declared-schema.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rmm-declared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function schemaFile(text: string): string {
  const file = path.join(dir, `database-${++counter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The error a load throws (the test fails if it does not throw an RmmError). */
function loadError(file: string): RmmError {
  try {
    loadDeclaredSchema(file);
  } catch (error) {
    if (isRmmError(error)) return error;
    throw error;
  }
  throw new Error(`expected ${file} to be rejected`);
}

const META = `  RmmMeta:
    columns:
      Key: {type: TEXT, primaryKey: true}
      Value: {type: TEXT, notNull: true}
`;

describe('loadDeclaredSchema: the packaged schemas/database.yaml', () => {
  const schema = loadDeclaredSchema();

  it('has the eight tables of the seed, then rmm own fifteen, in file order', () => {
    expect(schema.tables.map((t) => t.name)).toEqual([
      'Devices',
      'Sites',
      'DeviceGroups',
      'Inventory',
      'Alerts',
      'Actions',
      'Metrics',
      'AuditLog',
      'Policies',
      'NotificationChannels',
      'AlertRoutes',
      'Relays',
      'ManagedResources',
      'ActionLeases',
      'ActionDeliveries',
      'QueueRoutes',
      'ServiceLease',
      'ScheduleRuns',
      'Notifications',
      'RelayOutbox',
      'ResourceEdits',
      'SourceManifests',
      'RmmMeta',
    ]);
    expect(schema.tables.flatMap((t) => t.indexes)).toHaveLength(18);
    // Issue 16: insert, update and delete marks on each kind's table and on ManagedResources.
    expect(schema.tables.flatMap((t) => t.triggers ?? [])).toHaveLength(24);
    expect(schema.label).toBe('schemas/database.yaml');
    expect(schema.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('normalizes defaults to their SQL text, keys and AUTOINCREMENT', () => {
    const column = (table: string, name: string) =>
      schema.tables.find((t) => t.name === table)?.columns.find((c) => c.name === name);
    expect(column('Devices', 'Status')).toEqual({
      name: 'Status',
      type: 'TEXT',
      notNull: false,
      defaultSql: "'Unknown'",
    });
    expect(column('Actions', 'Priority')?.defaultSql).toBe('5');
    expect(column('Policies', 'Monitors')?.defaultSql).toBe("'[]'");
    expect(column('Devices', 'CreatedAt')?.defaultSql).toBe('CURRENT_TIMESTAMP');
    expect(column('Devices', 'FQDN')?.defaultSql).toBeNull();
    const byName = (name: string) => schema.tables.find((t) => t.name === name);
    expect(byName('ManagedResources')?.primaryKey).toEqual(['Kind', 'Name']);
    expect(byName('Inventory')).toMatchObject({ primaryKey: ['InventoryId'], autoincrement: true });
    expect(byName('Inventory')?.foreignKeys).toEqual([
      {
        columns: ['DeviceId'],
        table: 'Devices',
        references: ['DeviceId'],
        onDelete: 'NO ACTION',
        onUpdate: 'NO ACTION',
      },
    ]);
    expect(schema.seeds).toEqual([
      {
        table: 'Sites',
        values: { SiteId: 'main', Name: 'Main Site', Location: 'Default', Timezone: 'UTC' },
        keyColumns: ['SiteId'],
      },
    ]);
  });
});

describe('loadDeclaredSchema: the hash', () => {
  const original = readFileSync(databaseSchemaFile, 'utf8');
  const hashOf = (text: string) => loadDeclaredSchema(schemaFile(text)).hash;

  it('ignores descriptions and comments', () => {
    const edited = original
      .replace('description: Key/value bookkeeping', 'description: Something else entirely')
      .replace('# ---- rmm', '# ---- changed comment, rmm');
    expect(hashOf(edited)).toBe(loadDeclaredSchema().hash);
  });

  it('changes with a column type', () => {
    expect(
      hashOf(
        original.replace('Severity: {type: TEXT, notNull: true}', 'Severity: {type: INTEGER, notNull: true}'),
      ),
    ).not.toBe(loadDeclaredSchema().hash);
  });

  it('changes with a seed value', () => {
    expect(hashOf(original.replace('Timezone: UTC}', 'Timezone: Europe/Paris}'))).not.toBe(
      loadDeclaredSchema().hash,
    );
  });
});

describe('loadDeclaredSchema: literal defaults', () => {
  it('quotes strings with quotes doubled and writes numbers in decimal', () => {
    const schema = loadDeclaredSchema(
      schemaFile(`tables:
  T:
    columns:
      Id: {type: TEXT, primaryKey: true}
      Quote: {type: TEXT, default: "it's"}
      Half: {type: REAL, default: 0.5}
      Minus: {type: INTEGER, default: -3}
      Hex: {type: INTEGER, default: 0x10}
${META}`),
    );
    const defaults = Object.fromEntries((schema.tables[0]?.columns ?? []).map((c) => [c.name, c.defaultSql]));
    expect(defaults).toEqual({ Id: null, Quote: "'it''s'", Half: '0.5', Minus: '-3', Hex: '16' });
  });
});

interface InvalidCase {
  name: string;
  yaml: string;
  /** Each expected as `FILE:${line}`. */
  lines: string[];
}

const invalid: InvalidCase[] = [
  {
    name: 'YAML syntax error',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true
  Sites: x
`,
    lines: [':5:3: Flow map in block collection must be sufficiently indented and end with a }'],
  },
  {
    name: 'duplicate key',
    yaml: `tables:
  T:
    columns:
      Id: {type: TEXT}
      Id: {type: TEXT}
${META}`,
    // The wording is precise-parse.ts's; the position is this loader's job.
    lines: [':5:7: '],
  },
  {
    name: 'unknown column attribute',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
      Hostname: {type: TEXT, nullable: false}
${META}`,
    lines: [
      ':5:30: unknown field "nullable"; expected one of: type, primaryKey, autoincrement, notNull, default, defaultExpr',
    ],
  },
  {
    name: 'a typo in a column attribute gets a suggestion',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
      Hostname: {type: TEXT, notnull: true}
${META}`,
    lines: [':5:30: unknown field "notnull"; did you mean "notNull"?'],
  },
  {
    name: 'foreign key to a missing table',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
  Inventory:
    columns:
      DeviceId: {type: TEXT}
    foreignKeys:
      - {columns: [DeviceId], references: {table: Device, columns: [DeviceId]}}
${META}`,
    lines: [':9:51: table "Device" is not declared; did you mean "Devices"?'],
  },
  {
    name: 'foreign key to a missing column, and from one',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
  Inventory:
    columns:
      DeviceId: {type: TEXT}
    foreignKeys:
      - {columns: [Device], references: {table: Devices, columns: [Id]}}
${META}`,
    lines: [
      ':9:20: column "Device" is not declared; did you mean "DeviceId"?',
      ':9:68: column "Id" is not declared in Devices',
    ],
  },
  {
    name: 'foreign key to a column that is neither key nor unique',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
      Hostname: {type: TEXT}
  Inventory:
    columns:
      Host: {type: TEXT}
    foreignKeys:
      - {columns: [Host], references: {table: Devices, columns: [Hostname]}}
${META}`,
    lines: [':10:65: Devices(Hostname) is neither its primary key nor a unique index'],
  },
  {
    name: 'index on a missing column',
    yaml: `tables:
  Devices:
    columns:
      DeviceId: {type: TEXT, primaryKey: true}
      Status: {type: TEXT}
    indexes:
      idx_devices_status: {columns: [Status, State]}
${META}`,
    lines: [':7:46: column "State" is not declared; did you mean "Status"?'],
  },
  {
    name: 'composite primary key on a missing column',
    yaml: `tables:
  Pairs:
    columns:
      Kind: {type: TEXT}
      Name: {type: TEXT}
    primaryKey: [Kind, Nme]
${META}`,
    lines: [':6:24: column "Nme" is not declared; did you mean "Name"?'],
  },
  {
    name: 'primary key declared both ways',
    yaml: `tables:
  Pairs:
    columns:
      Kind: {type: TEXT, primaryKey: true}
      Name: {type: TEXT}
    primaryKey: [Kind, Name]
${META}`,
    lines: [':4:38: table "Pairs" declares its primary key twice'],
  },
  {
    name: 'two columns with primaryKey',
    yaml: `tables:
  Pairs:
    columns:
      Kind: {type: TEXT, primaryKey: true}
      Name: {type: TEXT, primaryKey: true}
${META}`,
    lines: [
      ':5:38: only one column can set primaryKey; for a composite key write primaryKey: [Kind, Name] on the table',
    ],
  },
  {
    name: 'seed for a missing table and a missing column',
    yaml: `tables:
  Sites:
    columns:
      SiteId: {type: TEXT, primaryKey: true}
${META}seed:
  Site:
    - {SiteId: main}
  Sites:
    - {SiteId: main, Nme: Main}
`,
    lines: [
      ':10:3: table "Site" is not declared; did you mean "Sites"?',
      ':13:22: column "Nme" is not declared in Sites',
    ],
  },
  {
    name: 'default and defaultExpr together',
    yaml: `tables:
  T:
    columns:
      At: {type: DATETIME, default: now, defaultExpr: CURRENT_TIMESTAMP}
${META}`,
    lines: [':4:11: give either default or defaultExpr, not both'],
  },
  {
    name: 'no RmmMeta table',
    yaml: `tables:
  T:
    columns:
      Id: {type: TEXT}
`,
    lines: [':2:3: table RmmMeta with columns Key and Value must be declared'],
  },
];

describe('loadDeclaredSchema: an invalid file', () => {
  it.each(invalid)('$name', ({ yaml, lines }) => {
    const file = schemaFile(yaml);
    const error = loadError(file);
    expect(error.code).toBe('invalid-schema');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(`${file} is invalid`);
    // Each line starts FILE:LINE:COL: and reads as the expected text (which may stop early).
    expect(error.details.map((d, i) => d.slice(0, `${file}${lines[i] ?? ''}`.length))).toEqual(
      lines.map((l) => `${file}${l}`),
    );
  });

  it('a missing file says so', () => {
    const error = loadError(path.join(dir, 'missing.yaml'));
    expect(error.message).toMatch(/cannot read .*missing\.yaml: no such file/);
  });
});
