// The floors the validator is measured against, each run alone in its own process:
//   js-yaml   js-yaml's loadAll with its core schema, on every file
//   yaml      the yaml library's parseAllDocuments + toJS, on every file
//   ajv       AJV alone, validating documents already in memory (parsing is not timed)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import jsyaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import { kindValidators } from '../dist/resources/schemas.js';

const [task, dir] = process.argv.slice(2);
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
} else {
  throw new Error(`unknown floor ${task}`);
}
process.stderr.write(`${documents}\n`);
