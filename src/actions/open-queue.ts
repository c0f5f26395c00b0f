import { type CredentialPolicy, credentialPolicy } from '../credentials/policy.js';
import type { Db } from '../state/connection.js';
import { openResourceDatabase } from '../state/resource-database.js';
import { isBusy, lockedBeforeRun } from './busy.js';
import { type Recovered, recoverStaleActions } from './recover.js';
import { type ActionStore, actionStore } from './store.js';

/** A runner's queue, ready to claim from. */
export interface OpenQueue {
  db: Db;
  store: ActionStore;
  /** The credential references this console resolves (credentials/policy.ts). */
  credentials: CredentialPolicy;
  /** What stopped runners left, ended before this one claims anything (recover.ts): for the caller to show. */
  recovered: Recovered[];
}

/**
 * The console database for a runner (`rmm exec`, `rmm actions run`, `rmm inventory collect`, and
 * later `rmm serve`), with the rows stopped runners left already ended, and the credential
 * references this console resolves (checked first: a malformed widening changes nothing). Close db
 * when done.
 */
export function openQueue(dataDir: string, actor: string): OpenQueue {
  const credentials = credentialPolicy(dataDir);
  const { db } = openResourceDatabase(dataDir);
  try {
    db.pragma('synchronous = NORMAL'); // WAL: one fsync per checkpoint, not per status change
    const store = actionStore(db, actor);
    let recovered: Recovered[];
    try {
      recovered = recoverStaleActions(db, store);
    } catch (error) {
      if (isBusy(error)) throw lockedBeforeRun('while ending what stopped runners left', error);
      throw error;
    }
    return { db, store, credentials, recovered };
  } catch (error) {
    db.close();
    throw error;
  }
}
