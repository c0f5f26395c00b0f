import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressLine } from '../../src/views/progress-line.js';

/** The live line of exec and actions run: redrawn in place, at most once per 100 ms. */
describe('ProgressLine', () => {
  let writes: string[];
  let count: number;
  let line: ProgressLine;
  beforeEach(() => {
    vi.useFakeTimers();
    writes = [];
    count = 0;
    line = new ProgressLine(
      { write: (text: string) => writes.push(text), columns: 40 },
      () => `done ${count}`,
      100,
      () => Date.now(),
    );
  });
  afterEach(() => vi.useRealTimers());

  it('draws the first change at once, then at most once per interval, showing the latest state', () => {
    line.changed();
    expect(writes).toEqual(['\r\x1b[2Kdone 0']);
    for (count = 1; count <= 500; count++) line.changed();
    count = 500;
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(99);
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual(['\r\x1b[2Kdone 0', '\r\x1b[2Kdone 500']);
    vi.advanceTimersByTime(1000);
    expect(writes).toHaveLength(2);
  });

  it('clears itself for other output, and ends with the final state and a newline', () => {
    line.changed();
    line.clear();
    line.clear();
    expect(writes).toEqual(['\r\x1b[2Kdone 0', '\r\x1b[2K']);
    count = 7;
    line.changed();
    line.end();
    expect(writes.slice(2)).toEqual(['\r\x1b[2Kdone 7', '\n']);
    vi.advanceTimersByTime(1000);
    expect(writes).toHaveLength(4);
  });

  it('cuts a line wider than the terminal, which would wrap and break the redraw', () => {
    const long = new ProgressLine({ write: (text: string) => writes.push(text), columns: 30 }, () =>
      'x'.repeat(100),
    );
    long.changed();
    expect(writes[0]).toBe(`\r\x1b[2K${'x'.repeat(28)}…`);
  });
});
