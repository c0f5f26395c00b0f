import type { ForeignKeyAction, SeedValue } from './table-schema.js';

/**
 * schemas/database.yaml as parsed, once database.schema.json accepted it: what the rules
 * (declared-schema-rules.ts) check and the model (declared-schema-model.ts) is made from.
 */
export interface RawColumn {
  type: string;
  primaryKey?: boolean;
  autoincrement?: boolean;
  notNull?: boolean;
  default?: string | number;
  defaultExpr?: string;
  rebuildFrom?: string;
}
export interface RawForeignKey {
  columns: string[];
  references: { table: string; columns: string[] };
  onDelete?: ForeignKeyAction;
  onUpdate?: ForeignKeyAction;
}
export interface RawTable {
  description?: string;
  columns: Record<string, RawColumn>;
  primaryKey?: string[];
  foreignKeys?: RawForeignKey[];
  indexes?: Record<string, { columns: string[]; unique?: boolean; where?: string }>;
  triggers?: Record<string, { sql: string }>;
}
export interface RawSchema {
  tables: Record<string, RawTable>;
  seed?: Record<string, Record<string, SeedValue>[]>;
}

/** The key columns, given on the table or by one column's primaryKey. */
export function primaryKeyOf(table: RawTable): string[] {
  return table.primaryKey ?? Object.keys(table.columns).filter((c) => table.columns[c]?.primaryKey);
}
