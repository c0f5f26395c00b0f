/**
 * A schema migration as data: ordered steps of SQL with a line for people and a destructive mark.
 * state/migration-plan.ts makes them and state/migrate.ts runs them; a saved plan records them and
 * the views show them, so this holds only the types, with no storage code.
 */

export type StepAction =
  | 'create table'
  | 'add column'
  | 'drop index'
  | 'rebuild table'
  | 'create index'
  | 'create trigger'
  | 'drop trigger'
  | 'insert seed row'
  | 'drop table'
  | 'record schema hash';

export interface MigrationStep {
  action: StepAction;
  /** The table, column (`Table.Column`), index or seed row (`Table/key`) the step acts on. */
  object: string;
  /** One line for people: `rebuild table Alerts (column Severity: type TEXT -> INTEGER)`. */
  summary: string;
  destructive: boolean;
  sql: string[];
}

export interface MigrationPlan {
  steps: MigrationStep[];
  destructive: boolean;
  /** A rebuild or a dropped table: foreign keys must be off while it runs (see migrate.ts). */
  needsForeignKeysOff: boolean;
}
