import { stringify } from 'yaml';
import type { InventoryEntry } from '../inventory/queries.js';
import { isoTime } from './time.js';

/** `rmm inventory show`: for people, each category as YAML under a heading; for programs, JSON. */
export function inventoryJson(device: string, entries: readonly InventoryEntry[]) {
  return {
    device,
    categories: entries.map((e) => ({
      category: e.category,
      collectedAt: isoTime(e.collectedAt),
      data: e.data,
    })),
  };
}

export function inventoryText(device: string, entries: readonly InventoryEntry[]): string {
  return entries
    .map((e) => {
      const body = stringify(e.data, { lineWidth: 0 }).trimEnd();
      const indented = body
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n');
      return `${e.category} (Device/${device}, collected ${isoTime(e.collectedAt) ?? 'at an unknown time'})\n${indented}`;
    })
    .join('\n\n');
}
