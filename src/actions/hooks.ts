import { readInventory } from '../inventory/collectors.js';
import { inventoryStore } from '../inventory/store.js';
import type { Db } from '../state/connection.js';
import type { ActionHooks } from './runner.js';

/**
 * The action types whose results mean more than an exit code, wired to the database. Every runner
 * (rmm exec, rmm actions run, rmm inventory collect) uses the same hooks, so an inventory row queued
 * by one is stored the same way when another runs it.
 */
export function actionHooks(db: Db): ActionHooks {
  const inventories = inventoryStore(db);
  return {
    inventory: {
      succeeded(job, result) {
        const inventory = readInventory(job.device?.os ?? null, result.stdout.toString('utf8'));
        inventories.save(job.deviceName, inventory.categories, inventory.observed);
        return inventory.summary;
      },
      unreachable: (job) => inventories.unreachable(job.deviceName),
    },
  };
}
