import type { AlertRouteSpec, NotificationChannelSpec } from '../resources/kinds.js';
import type { Db } from '../state/connection.js';

/**
 * The applied channels and routes, as their specs: what `rmm notify test` and the outbox send
 * through (channel-sender.ts) and route by. Secrets are still references here. A row whose JSON was
 * edited by hand into something unreadable is left out and named in `unreadable`.
 */
export interface StoredNotifications {
  channels: Map<string, NotificationChannelSpec>;
  routes: Map<string, AlertRouteSpec>;
  unreadable: string[];
}

export function readStoredNotifications(db: Db): StoredNotifications {
  const out: StoredNotifications = { channels: new Map(), routes: new Map(), unreadable: [] };
  const channels = db
    .prepare('SELECT ChannelId, Type, Webhook, Email FROM NotificationChannels ORDER BY ChannelId')
    .raw()
    .all() as Array<[string, string, string | null, string | null]>;
  for (const [name, type, webhook, email] of channels) {
    const spec = { type, webhook: json(webhook), email: json(email) };
    const block = type === 'webhook' ? spec.webhook : type === 'email' ? spec.email : undefined;
    if (block && typeof block === 'object')
      out.channels.set(name, withoutNulls(spec) as unknown as NotificationChannelSpec);
    else out.unreadable.push(`NotificationChannel/${name}`);
  }
  const routes = db
    .prepare(
      'SELECT RouteId, Channels, Match, NotifyOnResolve, RepeatEvery, GroupWait FROM AlertRoutes ORDER BY RouteId',
    )
    .raw()
    .all() as Array<[string, string, string | null, string, string | null, string]>;
  for (const [name, channelList, match, notifyOnResolve, repeatEvery, groupWait] of routes) {
    const list = json(channelList);
    const matched = json(match);
    // A Match that cannot be read must not widen the route to every alert.
    const matchReadable = matched === null || (typeof matched === 'object' && !Array.isArray(matched));
    if (!Array.isArray(list) || !matchReadable) {
      out.unreadable.push(`AlertRoute/${name}`);
      continue;
    }
    const spec = {
      channels: list,
      match: matched,
      notifyOnResolve: json(notifyOnResolve) !== false,
      repeatEvery,
      groupWait,
    };
    out.routes.set(name, withoutNulls(spec) as unknown as AlertRouteSpec);
  }
  return out;
}

function json(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function withoutNulls(spec: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== null && v !== undefined));
}
