import type { Db } from '../state/connection.js';
import type { HostKeyResult } from './scan.js';

/**
 * AuditLog rows of `rmm hostkeys scan`: one per key recorded (`hostkey.record`, Success 1) and one
 * per key refused because it differs from the trusted one (`hostkey.mismatch`, Success 0), so a
 * changed key seen by anyone stays on record.
 */
export function hostKeyAudit(db: Db, actor: string): (result: HostKeyResult) => void {
  const insert = db.prepare(
    'INSERT INTO AuditLog (User, Action, Target, Details, Success) VALUES (?, ?, ?, ?, ?)',
  );
  return (result) => {
    const recorded = result.status === 'recorded';
    const details = {
      transport: result.transport,
      host: result.host,
      keyType: result.keyType,
      fingerprint: result.fingerprint,
      store: result.store,
      ...(result.expected ? { expected: result.expected } : {}),
    };
    insert.run(
      actor,
      recorded ? 'hostkey.record' : 'hostkey.mismatch',
      `Device/${result.device}`,
      JSON.stringify(details),
      recorded ? 1 : 0,
    );
  };
}
