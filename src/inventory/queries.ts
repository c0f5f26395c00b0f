import { RmmError } from '../errors.js';
import type { Db } from '../state/connection.js';
import { LINUX_INVENTORY_CATEGORIES } from './linux.js';
import { WINDOWS_INVENTORY_CATEGORIES } from './windows.js';

/** Reading what `rmm inventory collect` stored, for `rmm inventory show`: never writes. */

/** Every category a collector writes (Linux and Windows), in the order they are shown. */
export const INVENTORY_CATEGORIES: readonly string[] = [
  ...new Set<string>([...LINUX_INVENTORY_CATEGORIES, ...WINDOWS_INVENTORY_CATEGORIES]),
];

export interface InventoryEntry {
  category: string;
  /** SQLite's 'YYYY-MM-DD HH:MM:SS', UTC. */
  collectedAt: string | null;
  data: unknown;
}

/**
 * The newest stored row of each category of a device (each collect adds rows; older ones are
 * history), or of one category. Unknown devices and categories are refused by name.
 */
export function latestInventory(db: Db, device: string, category?: string): InventoryEntry[] {
  if (category !== undefined && !INVENTORY_CATEGORIES.includes(category))
    throw new RmmError('usage', `unknown inventory category ${JSON.stringify(category)}`, {
      details: [`categories: ${INVENTORY_CATEGORIES.join(', ')}`],
    });
  const known = db.prepare('SELECT 1 FROM Devices WHERE DeviceId = ?').get(device);
  if (!known) throw new RmmError('not-found', `Device/${device} is not in the database`);
  const rows = db
    .prepare(
      `SELECT Category, CollectedAt, Data FROM Inventory
       WHERE InventoryId IN (SELECT max(InventoryId) FROM Inventory WHERE DeviceId = ? GROUP BY Category)`,
    )
    .all(device) as Array<{ Category: string; CollectedAt: string | null; Data: string }>;
  const order = (c: string) => {
    const i = INVENTORY_CATEGORIES.indexOf(c);
    return i === -1 ? INVENTORY_CATEGORIES.length : i;
  };
  const entries = rows
    .map((r) => ({ category: r.Category, collectedAt: r.CollectedAt, data: parseData(r.Data) }))
    .sort((a, b) => order(a.category) - order(b.category) || a.category.localeCompare(b.category));
  if (entries.length === 0)
    throw new RmmError('not-found', `Device/${device} has no inventory yet`, {
      details: [`collect it with: rmm inventory collect -t name=${device}`],
    });
  if (category === undefined) return entries;
  const one = entries.filter((e) => e.category === category);
  if (one.length === 0)
    throw new RmmError('not-found', `Device/${device} has no ${category} inventory`, {
      details: [`it has: ${entries.map((e) => e.category).join(', ')}`],
    });
  return one;
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
