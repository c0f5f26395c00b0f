import { isBusy, lockedBeforeRun } from '../actions/busy.js';
import { type Recovered, type RecoveryWording, recoverStaleActions } from '../actions/recover.js';
import {
  type ActionResult,
  type ActionStatus,
  type ActionStore,
  actionStore,
  FINAL_STATUSES,
  type Runner,
  THIS_RUNNER,
} from '../actions/store.js';
import { prepareDataDir } from '../data-dir.js';
import { RmmError } from '../errors.js';
import { databaseFile } from '../paths.js';
import type { QueuedAction } from '../plugin/api.js';
import { type Db, openDatabase } from '../state/connection.js';
import { loadDeclaredSchema } from '../state/declared-schema.js';
import { applyMigration } from '../state/migrate.js';
import { pendingMigration } from '../state/pending-migration.js';
import {
  type FinishedStatus,
  finishedFromResult,
  finishedReport,
  type ReportKind,
  startedReport,
} from './reports.js';

/**
 * A relay's own store: an rmm database in its data directory (same schema as the console's, made by
 * the code `rmm init` runs), where each action it starts is an Actions row with the console's
 * ActionId, claimed with this relay's lease, and RelayOutbox holds the reports it owes the console
 * (on rmm.results.<name>). Each is written with what it reports: a row goes Running with its
 * `started` report in one transaction before the action runs, so an ActionId in the store is never
 * started again; its end goes with its `finished` report, so a report is never lost to a crash.
 */
export const RELAY_WORDING: RecoveryWording = {
  stopped: () => 'the relay stopped while this ran; it may or may not have completed',
  orphaned: () => 'the relay stopped before it started this; not run',
};

/** Published reports are kept this long (the console's duplicate window is 24 h). */
export const PUBLISHED_KEEP_MS = 7 * 86_400_000;

export interface OutboxRow {
  ActionId: string;
  Kind: ReportKind;
  Body: string;
}

/** An action that ended: its row's end as the runner wrote it, and its finished report. */
export interface Ended {
  id: string;
  device: string;
  type: string;
  status: ActionStatus;
  result: ActionResult;
  report: string;
}

/** What the store knows of an ActionId: never started, running here, or ended (reported or not). */
export type Known =
  | { state: 'new' }
  | { state: 'running' }
  | { state: 'final'; status: FinishedStatus; report: 'published' | 'unpublished' | 'missing' };

export interface RelayStore {
  db: Db;
  actions: ActionStore;
  /** What recovery ended at start-up (rows a killed relay left Running or not started). */
  recovered: Recovered[];
  known(actionId: string): Known;
  /**
   * Records each action Running under this relay's lease, with its started report, in one
   * transaction, before any of them runs; false for an ActionId already there (never started again).
   */
  startMany(actions: readonly QueuedAction[], atMs: number): boolean[];
  /** Ends actions (Actions row, lease, AuditLog) with their finished reports, in one transaction. */
  endMany(ends: readonly Ended[], atMs: number): void;
  /** Writes a finished report of an action that never ran here (expired, refused); once per ActionId. */
  finish(actionId: string, body: string, atMs: number): void;
  unpublished(limit: number): OutboxRow[];
  markPublished(rows: readonly Pick<OutboxRow, 'ActionId' | 'Kind'>[], atMs: number): void;
  /** Writes the finished report of every ended row that has none (killed between the two writes). */
  reportEnded(nowMs: number): void;
  /** Deletes published reports older than PUBLISHED_KEEP_MS; returns how many went. */
  prune(nowMs: number): number;
  close(): void;
}

/**
 * Opens (on first start, creates) the relay's database in `dataDir` (0700, its own: never a
 * console's), catches up safe schema steps of a newer rmm, ends what a killed relay left (recover.ts,
 * with the relay's wording), and writes the finished reports such rows still owe.
 */
export function openRelayStore(
  dataDir: string,
  options: { actor: string; nowMs: number; runner?: Runner },
): RelayStore {
  prepareDataDir(dataDir);
  const db = openDatabase(databaseFile(dataDir));
  try {
    // A report acked to the console must survive a power cut, not only a killed process.
    db.pragma('synchronous = FULL');
    const { live, plan } = pendingMigration(db, loadDeclaredSchema());
    if (plan.steps.length > 0) {
      if (plan.destructive && live.tables.length > 0)
        throw new RmmError('database', `the relay database in ${dataDir} needs destructive schema steps`, {
          details: ['review them: rmm db plan --data-dir DIR; apply them: rmm db apply --data-dir DIR'],
        });
      applyMigration(db, plan, { allowDestructive: false, actor: options.actor });
    }
    return relayStore(db, options);
  } catch (error) {
    db.close();
    if (isBusy(error)) throw lockedBeforeRun('while opening the relay database', error);
    throw error;
  }
}

function relayStore(db: Db, options: { actor: string; nowMs: number; runner?: Runner }): RelayStore {
  const runner = options.runner ?? THIS_RUNNER;
  const actions = actionStore(db, options.actor, runner);
  const insertAction = db.prepare(
    `INSERT OR IGNORE INTO Actions (ActionId, DeviceId, ActionType, Status, Priority, Payload, CreatedBy)
     VALUES (?, ?, ?, 'Pending', 5, ?, ?)`,
  );
  const insertReport = db.prepare(
    'INSERT OR IGNORE INTO RelayOutbox (ActionId, Kind, Body, CreatedAt) VALUES (?, ?, ?, ?)',
  );
  const actionRow = db.prepare('SELECT Status, Result FROM Actions WHERE ActionId = ?');
  const reportRow = db.prepare(
    "SELECT Body, PublishedAt FROM RelayOutbox WHERE ActionId = ? AND Kind = 'finished'",
  );
  const unpublished = db.prepare(
    'SELECT ActionId, Kind, Body FROM RelayOutbox WHERE PublishedAt IS NULL ORDER BY CreatedAt, rowid LIMIT ?',
  );
  const published = db.prepare('UPDATE RelayOutbox SET PublishedAt = ? WHERE ActionId = ? AND Kind = ?');
  const prune = db.prepare('DELETE FROM RelayOutbox WHERE PublishedAt IS NOT NULL AND PublishedAt < ?');
  const unreported = db.prepare(
    `SELECT a.ActionId, a.Status, a.Result FROM Actions a
     WHERE a.Status IN (${FINAL_STATUSES.map(() => '?').join(', ')})
       AND datetime(a.CompletedAt) >= datetime('now', '-6 days')
       AND NOT EXISTS (SELECT 1 FROM RelayOutbox o WHERE o.ActionId = a.ActionId AND o.Kind = 'finished')`,
  );

  const finish = (actionId: string, body: string, atMs: number) => {
    insertReport.run(actionId, 'finished', body, atMs);
  };

  // Rows ended within the outbox's keep (less a day): older ones were reported, and their reports pruned.
  const reportEnded = (nowMs: number) =>
    db.transaction(() => {
      for (const row of unreported.all(...FINAL_STATUSES) as Array<{
        ActionId: string;
        Status: ActionStatus;
        Result: string | null;
      }>) {
        const result = readResult(row.Result);
        const body = finishedReport(
          row.ActionId,
          nowMs,
          finishedFromResult(row.Status as FinishedStatus, result),
        );
        finish(row.ActionId, body, nowMs);
      }
    })();
  // A killed relay's rows: Running ones end Failed ("may or may not have completed"), never rerun;
  // then every ended row without its report (killed between the two writes, or just recovered) gets one.
  const recovered = recoverStaleActions(db, actions, runner, RELAY_WORDING);
  reportEnded(options.nowMs);

  return {
    db,
    actions,
    recovered,
    known(actionId) {
      const report = reportRow.get(actionId) as { Body: string; PublishedAt: number | null } | undefined;
      if (report) {
        const status = (JSON.parse(report.Body) as { status: FinishedStatus }).status;
        return { state: 'final', status, report: report.PublishedAt === null ? 'unpublished' : 'published' };
      }
      const row = actionRow.get(actionId) as { Status: ActionStatus } | undefined;
      if (!row) return { state: 'new' };
      if (FINAL_STATUSES.includes(row.Status))
        return { state: 'final', status: row.Status as FinishedStatus, report: 'missing' };
      return { state: 'running' };
    },
    startMany(list, atMs) {
      return db.transaction(() =>
        list.map((action) => {
          const payload = {
            command: action.command,
            ...(action.powershell ? { powershell: true } : {}),
            timeoutMs: action.timeoutMs,
            connectTimeoutMs: action.connectTimeoutMs,
            expiresAt: action.expiresAt,
            device: action.device,
          };
          const inserted = insertAction.run(
            action.actionId,
            action.device.name,
            action.type,
            JSON.stringify(payload),
            options.actor,
          );
          if (inserted.changes === 0) return false;
          insertReport.run(action.actionId, 'started', startedReport(action.actionId, atMs), atMs);
          // Running, with this relay's lease, in the same commit: a restart finds it and never reruns it.
          return actions.claim(action.actionId);
        }),
      )();
    },
    endMany(ends, atMs) {
      db.transaction(() => {
        actions.finishMany(ends);
        for (const end of ends) finish(end.id, end.report, atMs);
      })();
    },
    finish,
    reportEnded,
    unpublished: (limit) => unpublished.all(limit) as OutboxRow[],
    markPublished(rows, atMs) {
      db.transaction(() => {
        for (const row of rows) published.run(atMs, row.ActionId, row.Kind);
      })();
    },
    prune: (nowMs) => prune.run(nowMs - PUBLISHED_KEEP_MS).changes,
    close: () => db.close(),
  };
}

function readResult(text: string | null): ActionResult {
  try {
    const value = JSON.parse(text ?? 'null') as ActionResult | null;
    if (value && typeof value === 'object') return { ...value, durationMs: value.durationMs ?? 0 };
  } catch {}
  return { error: 'the relay could not read what it stored of this action', durationMs: 0 };
}
