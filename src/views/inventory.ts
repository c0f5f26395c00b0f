import type { InventoryEntry } from '../inventory/queries.js';
import { printable, printableLines } from '../printable.js';
import { isoTime } from './time.js';
import { yamlText } from './yaml-text.js';

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
      const body = yamlText(e.data).trimEnd();
      const indented = body
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n');
      // What a collector reported is the device's word: escaped, lines kept (src/printable.ts).
      return `${printable(e.category)} (Device/${printable(device)}, collected ${isoTime(e.collectedAt) ?? 'at an unknown time'})\n${printableLines(indented)}`;
    })
    .join('\n\n');
}
