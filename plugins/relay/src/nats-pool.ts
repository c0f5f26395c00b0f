import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Fail, Secret } from 'rmm/plugin';
import { loadNats } from './load-nats.js';
import { natsFailure } from './nats-errors.js';
import { DEFAULT_CONSOLE_USER, type RelayOptions } from './options.js';

/** One NATS connection shared by every route that names the same servers and user. */
export interface SharedNats {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** What was set up on it already (streams, each route's consumers): done once per connection. */
  ensured: Map<string, Promise<string[]>>;
}

interface PoolEntry {
  shared: Promise<SharedNats>;
  borrowers: number;
}

/**
 * Many relays usually share one NATS (a cluster the console reaches once), so routes borrow a
 * pooled connection, keyed by servers, user, TLS files and the credential's reference (never its
 * value); the last one to return it drains it.
 */
const pool = new Map<string, PoolEntry>();

export interface Borrowed {
  shared: SharedNats;
  release(): Promise<void>;
}

export async function borrowNats(
  options: RelayOptions,
  open: { secret?: Secret; connectTimeoutMs: number; signal?: AbortSignal },
  fail: Fail,
): Promise<Borrowed> {
  const user = options.user ?? DEFAULT_CONSOLE_USER;
  const key = JSON.stringify([options.servers, user, options.tls ?? null, open.secret?.ref ?? null]);
  let entry = pool.get(key);
  if (!entry) {
    entry = { shared: connectShared(options, user, open, fail), borrowers: 0 };
    pool.set(key, entry);
    const created = entry;
    const forget = () => {
      if (pool.get(key) === created) pool.delete(key);
    };
    // A connection that failed, or closed for good, is never lent again: the next open connects anew.
    created.shared.then((shared) => shared.nc.closed().then(forget), forget);
  }
  entry.borrowers++;
  const borrowed = entry;
  let shared: SharedNats;
  try {
    shared = await abortable(borrowed.shared, open.signal, fail);
  } catch (error) {
    borrowed.borrowers--;
    throw error;
  }
  let released = false;
  return {
    shared,
    async release() {
      if (released) return;
      released = true;
      borrowed.borrowers--;
      if (borrowed.borrowers > 0) return;
      if (pool.get(key) === borrowed) pool.delete(key);
      await shared.nc.drain().catch(() => undefined);
    },
  };
}

async function connectShared(
  options: RelayOptions,
  user: string,
  open: { secret?: Secret; connectTimeoutMs: number },
  fail: Fail,
): Promise<SharedNats> {
  const { core, js } = await loadNats();
  const password = open.secret?.revealText();
  try {
    const nc = await core.connect({
      servers: options.servers,
      user,
      ...(password !== undefined ? { pass: password } : {}),
      name: 'rmm-console',
      timeout: open.connectTimeoutMs,
      // rmm serve keeps routes open for days: through a NATS restart or a network outage it keeps
      // trying (each publish meanwhile fails on its own timeout), rather than closing for good.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      ...(options.tls ? { tls: { ...options.tls } } : {}),
    });
    // checkAPI: false saves a round trip; the first stream call says plainly if JetStream is off.
    const jsm = await js.jetstreamManager(nc, { checkAPI: false });
    return { nc, js: js.jetstream(nc), jsm, ensured: new Map() };
  } catch (error) {
    throw natsFailure(
      error,
      `cannot connect to NATS at ${options.servers.join(', ')} as ${user}`,
      fail,
      password,
    );
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, fail: Fail): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(fail('unreachable', 'cancelled before NATS answered'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(fail('unreachable', 'cancelled before NATS answered'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
