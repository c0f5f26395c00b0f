import { Args } from '@oclif/core';
import { dataDirFlags, outputFlags, outputFormat, RmmCommand } from '../../base-command.js';
import { INVENTORY_CATEGORIES, latestInventory } from '../../inventory/queries.js';
import { openResourceDatabase } from '../../state/resource-database.js';
import { inventoryJson, inventoryText } from '../../views/inventory.js';

export default class InventoryShow extends RmmCommand {
  static override summary = 'Show what the last inventory of a device found, per category.';

  static override description = [
    `Reads the Inventory rows rmm inventory collect stored for the device: the newest of each category (older ones are kept as history), with when it was collected (UTC). Categories: ${INVENTORY_CATEGORIES.join(', ')} (Linux collectors write os, kernel, hostname, cpu, memory, disks, network; the Windows collector os, hardware, disks, network, software).`,
    'Opens the database read-only, so it works for a user who may read the database but not write it.',
    'Exit codes: 0 shown, 1 the device is not in the database or has no such inventory yet, 64 bad arguments (an unknown category).',
  ].join('\n\n');

  static override examples = [
    {
      description: 'Everything known about a device.',
      command: '<%= config.bin %> <%= command.id %> alpha-web-01',
    },
    {
      description: 'Its disks, as JSON.',
      command: '<%= config.bin %> <%= command.id %> alpha-web-01 disks -o json',
    },
  ];

  static override args = {
    device: Args.string({ description: 'The device name (rmm get devices).', required: true }),
    category: Args.string({ description: `Only this category: ${INVENTORY_CATEGORIES.join(', ')}.` }),
  };

  static override flags = {
    ...dataDirFlags,
    ...outputFlags(['text', 'json'], 'text'),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(InventoryShow);
    const { db } = openResourceDatabase(this.dataDir(flags), { readonly: true });
    let entries: ReturnType<typeof latestInventory>;
    try {
      entries = latestInventory(db, args.device, args.category);
    } finally {
      db.close();
    }
    if (outputFormat(flags) === 'json')
      this.log(JSON.stringify(inventoryJson(args.device, entries), null, 2));
    else this.log(inventoryText(args.device, entries));
  }
}
