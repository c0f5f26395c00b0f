import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostic } from '../diagnostics/render.js';
import { displayPath } from '../display-path.js';
import { RmmError } from '../errors.js';
import { locator, parsePrecise } from '../load/precise-parse.js';
import { databaseSchemaFile } from '../paths.js';
import { createAjv, type ValidateFunction } from '../resources/ajv.js';
import { readSchemaFile } from '../resources/schemas.js';
import { normalizeSchema } from './declared-schema-model.js';
import { type Problem, schemaProblems, semanticProblems } from './declared-schema-rules.js';
import type { RawSchema } from './declared-schema-shape.js';
import { cachedSchemaModel } from './schema-cache.js';
import type { SeedRow, TableSchema } from './table-schema.js';

/**
 * schemas/database.yaml, read and checked: YAML syntax, then database.schema.json, then the rules a
 * JSON Schema cannot express (declared-schema-rules.ts: a foreign key names a declared table and
 * columns, and so on). The result is the same normalized model inspect.ts reads from a live database,
 * plus a hash of it (declared-schema-model.ts).
 */

export interface DeclaredSchema {
  /** The file as given. */
  file: string;
  /** How to name the file to a person: `schemas/database.yaml` for the packaged one. */
  label: string;
  /** In file order. */
  tables: TableSchema[];
  seeds: SeedRow[];
  /** sha256 (hex) of the canonical JSON of tables and seeds; descriptions do not count. */
  hash: string;
}

/**
 * With a cacheDir (the data directory's cache/), a file checked valid before is not checked again
 * (see schema-cache.ts); `rmm init` and `rmm db` always check in full.
 */
export function loadDeclaredSchema(
  file: string = databaseSchemaFile,
  options: { cacheDir?: string } = {},
): DeclaredSchema {
  const label = labelOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new RmmError('invalid-schema', `cannot read ${label}: ${reason}`, { cause: error });
  }
  if (options.cacheDir) {
    const model = cachedSchemaModel(options.cacheDir, text, () => checkDeclaredSchema(file, label, text));
    return { file, label, ...model };
  }
  return checkDeclaredSchema(file, label, text);
}

function checkDeclaredSchema(file: string, label: string, text: string): DeclaredSchema {
  const where = displayPath(file);
  const invalid = (lines: string[]) =>
    new RmmError('invalid-schema', `${label} is invalid`, { details: lines });

  const parsed = parsePrecise(text);
  if (!parsed.ok) throw invalid(parsed.problems.map((p) => line(where, p.line + 1, p.column + 1, p.message)));

  const validate = databaseValidator();
  const problems: Problem[] = validate(parsed.value)
    ? semanticProblems(parsed.value as RawSchema)
    : schemaProblems(validate.errors ?? []);
  if (problems.length > 0) {
    const locate = locator(text);
    const located = problems.map((p) => ({ ...locate(p.path, p.at), message: p.message }));
    located.sort((a, b) => a.line - b.line || a.column - b.column);
    throw invalid(located.map((p) => line(where, p.line + 1, p.column + 1, p.message)));
  }
  return normalizeSchema(file, label, parsed.value as RawSchema);
}

let validator: ValidateFunction | undefined;

/** Compiled on first use, then reused: the schema file does not change while rmm runs. */
function databaseValidator(): ValidateFunction {
  validator ??= createAjv().compile(readSchemaFile('database.schema.json'));
  return validator;
}

function line(file: string, lineNo: number, column: number, message: string): string {
  return formatDiagnostic({ severity: 'error', code: 'schema', file, line: lineNo, column, message });
}

function labelOf(file: string): string {
  return path.resolve(file) === databaseSchemaFile ? 'schemas/database.yaml' : displayPath(file);
}
