// The floors rmm validate and rmm apply are measured against, each run alone in its own process:
//   js-yaml   js-yaml's loadAll with its core schema, on every file
//   yaml      the yaml library's parseAllDocuments + toJS, on every file
//   ajv       AJV alone, validating documents already in memory (parsing is not timed)
//   apply-floor DIR DBFILE   the least any apply must do, in three parts timed one after the other:
//             js-yaml loadAll (core) of every file, AJV on every document, then one prepared-statement
//             transaction inserting the resource rows into DBFILE (a fresh `rmm init` database)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jsyaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { kindValidators } from '../dist/resources/schemas.js';

const [task, dir, dbFile] = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join(dir, f));
let documents = 0;

if (task === 'js-yaml') {
  for (const file of files)
    documents += jsyaml.loadAll(readFileSync(file, 'utf8'), null, { schema: jsyaml.CORE_SCHEMA }).length;
} else if (task === 'yaml') {
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      doc.toJS();
      documents++;
    }
  }
} else if (task === 'ajv') {
  const values = files.flatMap((file) =>
    jsyaml.loadAll(readFileSync(file, 'utf8'), null, { schema: jsyaml.CORE_SCHEMA }),
  );
  const validators = kindValidators();
  const started = performance.now();
  for (const value of values) {
    if (!validators[value.kind](value)) throw new Error(`invalid benchmark document ${value.metadata?.name}`);
    documents++;
  }
  // Only the validation counts for this floor.
  process.stdout.write(JSON.stringify({ timedMs: performance.now() - started }));
} else if (task === 'apply-floor') {
  const validators = kindValidators(); // compiled before timing, as in the ajv floor
  // Loaded here, not at the top, so that the other floors' processes do not pay for the native module.
  const { default: Database } = await import('better-sqlite3');
  const parts = {};
  const timed = (part, fn) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const result = fn();
    const used = process.cpuUsage(cpu);
    parts[part] = { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
    return result;
  };
  const values = timed('parse', () =>
    files.flatMap((file) => jsyaml.loadAll(readFileSync(file, 'utf8'), null, { schema: jsyaml.CORE_SCHEMA })),
  );
  timed('ajv', () => {
    for (const value of values)
      if (!validators[value.kind](value))
        throw new Error(`invalid benchmark document ${value.metadata?.name}`);
  });
  timed('sqlite', () => insertRows(Database, dbFile, values));
  documents = values.length;
  const sum = (key) => Object.values(parts).reduce((total, p) => total + p[key], 0);
  // Process start-up and module loading are outside every part: the floor is the work itself.
  process.stdout.write(JSON.stringify({ timedMs: sum('wallMs'), cpuMs: sum('cpuMs'), documents, parts }));
} else {
  throw new Error(`unknown floor ${task}`);
}
process.stderr.write(`${documents}\n`);

/**
 * The rows apply writes into the four resource tables (the columns of src/formats/kind-tables.ts that
 * the generated documents fill), in one transaction. Open to close is timed, as rmm's apply also opens
 * and closes the database (closing checkpoints the WAL). rmm also writes a ManagedResources and an
 * AuditLog row per resource; this floor does not.
 */
function insertRows(Database, file, values) {
  const db = new Database(file);
  db.pragma('foreign_keys = ON'); // as every rmm connection; WAL is already set in the file by init
  const insert = {
    Site: db.prepare('INSERT INTO Sites (SiteId, Name, Timezone) VALUES (?, ?, ?)'),
    Policy: db.prepare('INSERT INTO Policies (PolicyId, Monitors) VALUES (?, ?)'),
    DeviceGroup: db.prepare('INSERT INTO DeviceGroups (GroupId, Name, PolicyId) VALUES (?, ?, ?)'),
    Device: db.prepare(
      'INSERT INTO Devices (DeviceId, Hostname, FQDN, IPAddress, MACAddress, SiteId, GroupIds, Tags, CustomFields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  };
  const row = {
    Site: (m, s) => [m.name, s.displayName ?? m.name, s.timezone ?? null],
    Policy: (m, s) => [m.name, JSON.stringify(s.monitors ?? [])],
    DeviceGroup: (m, s) => [m.name, s.displayName ?? m.name, s.policy ?? null],
    Device: (m, s) => [
      m.name,
      s.hostname ?? m.name,
      s.fqdn ?? null,
      s.address ?? null,
      s.mac ?? null,
      s.site ?? null,
      JSON.stringify(s.groups ?? []),
      JSON.stringify(s.tags ?? []),
      JSON.stringify(s.customFields ?? {}),
    ],
  };
  // As rmm's apply: the edit-mark triggers (issue 16) stay quiet for writes made under this key.
  const quiet = db.prepare("INSERT OR REPLACE INTO RmmMeta (Key, Value) VALUES ('edits_by_rmm', '1')");
  const loud = db.prepare("DELETE FROM RmmMeta WHERE Key = 'edits_by_rmm'");
  db.transaction(() => {
    quiet.run();
    for (const { kind, metadata, spec } of values) insert[kind].run(...row[kind](metadata, spec));
    loud.run();
  })();
  db.close();
}
