import Database from 'better-sqlite3';

/** Reads from a database file the CLI wrote, on a connection of its own that is closed at once. */
export function queryFile<T>(file: string, sql: string, ...params: unknown[]): T[] {
  const conn = new Database(file, { readonly: true });
  try {
    return conn.prepare(sql).all(...params) as T[];
  } finally {
    conn.close();
  }
}

/** Changes a database file as someone outside rmm would (by hand, a transport, another tool). */
export function execFile(file: string, sql: string): void {
  const conn = new Database(file);
  try {
    conn.exec(sql);
  } finally {
    conn.close();
  }
}
