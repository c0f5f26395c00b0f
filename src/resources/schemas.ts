import { readFileSync } from 'node:fs';
import path from 'node:path';
import { schemasDir } from '../paths.js';
import { createAjv, type ValidateFunction } from './ajv.js';
import { KINDS, type Kind, schemaFileOf } from './kinds.js';

/** The JSON Schema files of the resource kinds, as shipped under schemas/. */
export const KIND_SCHEMA_FILES = [
  'common.schema.json',
  ...KINDS.map((k) => schemaFileOf[k]),
  'resource.schema.json',
];

export function readSchemaFile(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(schemasDir, file), 'utf8')) as Record<string, unknown>;
}

let compiled: Record<Kind, ValidateFunction> | undefined;

/** One compiled validator per kind, built on first use and reused for every document. */
export function kindValidators(): Record<Kind, ValidateFunction> {
  if (!compiled) {
    const ajv = createAjv();
    for (const file of KIND_SCHEMA_FILES) ajv.addSchema(readSchemaFile(file), file);
    compiled = Object.fromEntries(
      KINDS.map((kind) => [kind, ajv.getSchema(schemaFileOf[kind]) as ValidateFunction]),
    ) as Record<Kind, ValidateFunction>;
  }
  return compiled;
}
