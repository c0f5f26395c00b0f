/**
 * One status line on a terminal, redrawn in place (carriage return, erase line) at most once per
 * interval however often things change: 10,000 actions ending in a second would otherwise mean
 * 10,000 redraws. Other output clears it first (clear()) and it comes back at the next change.
 * Only for terminals: a log file or pipe gets plain lines instead (see views/action-events.ts).
 */
export interface LineStream {
  write(text: string): unknown;
  columns?: number;
}

const ERASE = '\r\x1b[2K';

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private shown = false;

  constructor(
    private readonly stream: LineStream,
    private readonly render: () => string,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Something changed: draw now if the last draw is old enough, else once the interval is up. */
  changed(): void {
    if (this.timer) return;
    const wait = this.lastDraw + this.intervalMs - this.now();
    if (wait <= 0) this.draw();
    else this.timer = setTimeout(() => this.draw(), wait);
  }

  /** Erases the line so that other output starts at the left margin. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write(ERASE);
    this.shown = false;
  }

  /** The last state, left on screen with a newline. */
  end(): void {
    this.draw();
    this.stream.write('\n');
    this.shown = false;
  }

  private draw(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // A line longer than the terminal wraps, and \r would then redraw only its last row.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const text = this.render();
    this.stream.write(`${ERASE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
    this.lastDraw = this.now();
  }
}
