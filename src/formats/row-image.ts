import { hash } from 'node:crypto';
import type { Fields, FieldValue } from '../engine/resource-view.js';
import { FIELDS_OF, normalize } from '../engine/resource-view.js';
import type { Kind } from '../resources/kinds.js';
import { KIND_TABLES, type SqlValue } from './kind-tables.js';

/** A view's fields as the row values to write, plus the JSON of Labels and Settings. */
export function toRow(
  kind: Kind,
  fields: Fields,
): { columns: Record<string, SqlValue>; labels: string; settings: string } {
  const spec = KIND_TABLES[kind];
  const columns: Record<string, SqlValue> = {};
  for (const [field, column] of Object.entries(spec.columns)) {
    const value = fields[field] ?? null;
    // An unset JSON field is SQL NULL: JSON's 'null' would read back as the text "null".
    columns[column] = spec.json.has(field) && value !== null ? JSON.stringify(value) : (value as SqlValue);
  }
  const settings: Record<string, FieldValue> = {};
  for (const field of spec.settings)
    if (fields[field] !== null && fields[field] !== undefined) settings[field] = fields[field];
  return { columns, labels: JSON.stringify(fields.labels ?? {}), settings: JSON.stringify(settings) };
}

/**
 * A resource's row image: one string holding exactly what its rows store (the columns in KIND_TABLES
 * order, then Labels and Settings). Plan compares images first and decodes fields only where they
 * differ, so a no-op plan over 100,000 rows builds almost no objects. Equal images mean equal
 * fields; unequal images may still be equal fields (keys reordered), which the field diff settles.
 */
export function imageOf(kind: Kind, fields: Fields): string {
  const row = toRow(kind, fields);
  return imageOfValues([...Object.values(row.columns), row.labels, row.settings]);
}

/** The image of a stored row, read as [column values..., Labels, Settings] (see storedImageSql). */
export function imageOfValues(values: readonly SqlValue[]): string {
  return JSON.stringify(values);
}

export function fieldsOfImage(kind: Kind, image: string): Fields {
  return fieldsOfValues(kind, JSON.parse(image) as SqlValue[]);
}

export function fieldsOfValues(kind: Kind, values: readonly SqlValue[]): Fields {
  const columns = Object.values(KIND_TABLES[kind].columns);
  const row: Record<string, SqlValue> = {};
  columns.forEach((column, i) => {
    row[column] = values[i] ?? null;
  });
  const labels = values[columns.length] ?? null;
  const settings = values[columns.length + 1] ?? null;
  return fromRow(kind, row, labels as string | null, settings as string | null);
}

/** What ManagedResources.AppliedHash records of the image apply wrote, to tell drift later. */
export function imageHash(image: string): string {
  return hash('sha1', image, 'base64');
}

/** A stored row (and its ManagedResources row, if any) back to a view's fields. */
export function fromRow(
  kind: Kind,
  row: Record<string, SqlValue>,
  labels: string | null,
  settings: string | null,
): Fields {
  const spec = KIND_TABLES[kind];
  const fields: Fields = {};
  const stored = parseJson(settings) as Record<string, FieldValue> | null;
  for (const field of FIELDS_OF[kind]) {
    if (field === 'labels') fields.labels = normalize(field, parseJson(labels));
    else if (spec.settings.includes(field)) fields[field] = normalize(field, stored?.[field]);
    else {
      const raw = row[spec.columns[field] as string] ?? null;
      // A column written by hand may not hold JSON: keep its text, and the plan shows the fix.
      fields[field] = normalize(
        field,
        spec.json.has(field) && typeof raw === 'string' ? (parseJson(raw) ?? raw) : raw,
      );
    }
  }
  return fields;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
