import { hash } from 'node:crypto';
import type { Fields, FieldValue } from '../engine/resource-view.js';
import { FIELDS_OF, normalize } from '../engine/resource-view.js';
import type { Kind } from '../resources/kinds.js';
import { KIND_TABLES, type SqlValue } from './kind-tables.js';

/**
 * Where each of a kind's fields sits in its row image, worked out once per kind: encoding and decoding
 * run per resource (twice per device in a cold apply of 100,000), and walking KIND_TABLES' maps for
 * each cost about a fifth of their time.
 */
interface Layout {
  /** The fields stored in columns, in column order, and whether each column holds JSON. */
  columns: ReadonlyArray<{ field: string; json: boolean }>;
  settings: readonly string[];
  /** FIELDS_OF order: where each field is read from when decoding. */
  fields: ReadonlyArray<{ field: string; from: 'labels' | 'settings' | number; json: boolean }>;
}

const layouts = new Map<Kind, Layout>();

function layoutOf(kind: Kind): Layout {
  let layout = layouts.get(kind);
  if (!layout) {
    const spec = KIND_TABLES[kind];
    const columns = Object.keys(spec.columns).map((field) => ({ field, json: spec.json.has(field) }));
    const fields = FIELDS_OF[kind].map((field) => {
      const at = columns.findIndex((c) => c.field === field);
      const from: Layout['fields'][number]['from'] =
        field === 'labels' ? 'labels' : spec.settings.includes(field) ? 'settings' : at;
      return { field, from, json: spec.json.has(field) };
    });
    layout = { columns, settings: spec.settings, fields };
    layouts.set(kind, layout);
  }
  return layout;
}

/** [column values in KIND_TABLES order..., Labels JSON, Settings JSON]: what a row image holds. */
function rowValues(kind: Kind, fields: Fields): SqlValue[] {
  const layout = layoutOf(kind);
  const values: SqlValue[] = [];
  for (const { field, json } of layout.columns) {
    const value = fields[field] ?? null;
    // An unset JSON field is SQL NULL: JSON's 'null' would read back as the text "null".
    values.push(json && value !== null ? JSON.stringify(value) : (value as SqlValue));
  }
  const settings: Record<string, FieldValue> = {};
  for (const field of layout.settings)
    if (fields[field] !== null && fields[field] !== undefined) settings[field] = fields[field];
  values.push(JSON.stringify(fields.labels ?? {}), JSON.stringify(settings));
  return values;
}

/**
 * A resource's row image: one string holding exactly what its rows store (the columns in KIND_TABLES
 * order, then Labels and Settings). Plan compares images first and decodes fields only where they
 * differ, so a no-op plan over 100,000 rows builds almost no objects. Equal images mean equal
 * fields; unequal images may still be equal fields (keys reordered), which the field diff settles.
 */
export function imageOf(kind: Kind, fields: Fields): string {
  return imageOfValues(rowValues(kind, fields));
}

/** The image of a stored row, read as [column values..., Labels, Settings] (see storedImageSql). */
export function imageOfValues(values: readonly SqlValue[]): string {
  return JSON.stringify(values);
}

export function fieldsOfImage(kind: Kind, image: string): Fields {
  return fieldsOfValues(kind, JSON.parse(image) as SqlValue[]);
}

/** A stored row's image values (and its ManagedResources row's, if any) back to a view's fields. */
export function fieldsOfValues(kind: Kind, values: readonly SqlValue[]): Fields {
  const layout = layoutOf(kind);
  const n = layout.columns.length;
  const stored = parseJson((values[n + 1] ?? null) as string | null) as Record<string, FieldValue> | null;
  const fields: Fields = {};
  for (const { field, from, json } of layout.fields) {
    if (from === 'labels') fields.labels = normalize(field, parseJson((values[n] ?? null) as string | null));
    else if (from === 'settings') fields[field] = normalize(field, stored?.[field]);
    else {
      const raw = values[from] ?? null;
      // A column written by hand may not hold JSON: keep its text, and the plan shows the fix.
      fields[field] = normalize(field, json && typeof raw === 'string' ? (parseJson(raw) ?? raw) : raw);
    }
  }
  return fields;
}

/** What ManagedResources.AppliedHash records of the image apply wrote, to tell drift later. */
export function imageHash(image: string): string {
  return hash('sha1', image, 'base64');
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
