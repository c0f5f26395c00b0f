import type { Db } from '../state/connection.js';
import type { ObservedOs } from './linux.js';

/**
 * Where an inventory lands: one Inventory row per category with its JSON, and the device's observed
 * columns (LastSeen, LastInventory, Status, OS fields), all in one transaction. These columns are
 * written only here and by other transports' observations; `rmm apply` never touches them.
 */
export function inventoryStore(db: Db) {
  const insert = db.prepare('INSERT INTO Inventory (DeviceId, Category, Data) VALUES (?, ?, ?)');
  const online = db.prepare(
    `UPDATE Devices SET LastSeen = CURRENT_TIMESTAMP, LastInventory = CURRENT_TIMESTAMP, Status = 'Online',
       OSName = ?, OSVersion = ?, OSBuild = ? WHERE DeviceId = ?`,
  );
  const offline = db.prepare("UPDATE Devices SET Status = 'Offline' WHERE DeviceId = ?");
  return {
    save(device: string, categories: Record<string, unknown>, os: ObservedOs): void {
      db.transaction(() => {
        for (const [category, data] of Object.entries(categories))
          insert.run(device, category, JSON.stringify(data));
        online.run(os.OSName, os.OSVersion, os.OSBuild, device);
      })();
    },
    /** The device did not answer: Offline, its last inventory and LastSeen kept. */
    unreachable(device: string): void {
      offline.run(device);
    },
  };
}
