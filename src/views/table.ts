import { printable } from '../printable.js';

/** A column of a text table: its title and how a row fills it. */
export type Column<Row> = [title: string, cell: (row: Row) => string];

/**
 * A plain text table: titles, then one line per row, columns padded, the last left ragged. Cells hold
 * values from the database and devices, so each is escaped (printable.ts) before it is measured.
 */
export function textTable<Row>(columns: ReadonlyArray<Column<Row>>, rows: readonly Row[]): string {
  const cells = rows.map((r) => columns.map(([, cell]) => printable(cell(r))));
  const widths = columns.map(([title], i) =>
    Math.max(title.length, ...cells.map((c) => (c[i] ?? '').length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map(([title]) => title)), ...cells.map(line)].join('\n');
}
