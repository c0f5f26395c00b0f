import { canonicalLabels, type Sample, seriesKey } from './samples.js';

/**
 * The hot tier of the seed: the last 5 minutes of samples of every series, in the memory of
 * `rmm serve`, so that evaluation never reads SQLite. At 500,000 series a JS object per sample would
 * cost gigabytes; each series is instead a ring buffer in a shared pool of typed arrays, and its
 * metric, labels and device are interned. Time is an input: every call that evicts takes `now`.
 */

export const HOT_WINDOW_MS = 5 * 60_000;

/**
 * Ring capacities: a ring starts at 8 slots (a 1-minute monitor keeps 6 samples in 5 minutes) and
 * doubles up to 64 (a 10 s monitor keeps 31). A series sent faster than that loses its oldest
 * samples early rather than growing without bound.
 */
const CAPACITIES = [8, 16, 32, 64] as const;
const MAX_CLASS = CAPACITIES.length - 1;

/** Rings of one capacity packed into two typed arrays; a freed ring is reused before the pool grows. */
class RingPool {
  times: Float64Array;
  values: Float64Array;
  private used = 0;
  private readonly free: number[] = [];

  constructor(readonly capacity: number) {
    this.times = new Float64Array(capacity * 64);
    this.values = new Float64Array(capacity * 64);
  }

  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if ((this.used + 1) * this.capacity > this.times.length) {
      this.times = grown(this.times, this.times.length * 2);
      this.values = grown(this.values, this.values.length * 2);
    }
    return this.used++;
  }

  release(ring: number): void {
    this.free.push(ring);
  }

  bytes(): number {
    return this.times.byteLength + this.values.byteLength;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}

/** What `add` did with its samples; refused ones are counted, never thrown. */
export interface AddResult {
  added: number;
  /** Not finite, older than the window, or not newer than the series' latest sample. */
  refused: number;
}

const NO_SERIES: readonly number[] = Object.freeze([]);

export class HotTier {
  private readonly pools = CAPACITIES.map((capacity) => new RingPool(capacity));
  // Per series, by id (struct of arrays, grown by doubling).
  private ringClass = new Uint8Array(1024);
  private ring = new Int32Array(1024);
  private head = new Uint8Array(1024);
  private length = new Uint8Array(1024);
  private metricId = new Int32Array(1024);
  private labelSetId = new Int32Array(1024);
  private deviceId = new Int32Array(1024);
  private readonly keys: (string | undefined)[] = [];
  private readonly ids = new Map<string, number>();
  private readonly freeIds: number[] = [];
  // Interned values: few metrics and label sets, one entry per device.
  private readonly metrics: string[] = [];
  private readonly metricIds = new Map<string, number>();
  private readonly labelSets: { canonical: string; labels: Readonly<Record<string, string>> }[] = [];
  private readonly labelSetIds = new Map<string, number>();
  private readonly devices: string[] = [];
  private readonly deviceIds = new Map<string, number>();
  private readonly seriesByDevice: number[][] = [];

  constructor(readonly windowMs: number = HOT_WINDOW_MS) {}

  /** Stores samples; per series they must come in time order (a late or repeated one is refused). */
  add(samples: Iterable<Sample>, now: number): AddResult {
    const oldest = now - this.windowMs;
    let added = 0;
    let refused = 0;
    for (const sample of samples) {
      if (!Number.isFinite(sample.value) || !Number.isFinite(sample.at) || sample.at < oldest) {
        refused++;
        continue;
      }
      const key = seriesKey(sample.device, sample.metric, sample.labels);
      const id = this.ids.get(key) ?? this.create(key, sample);
      this.dropOlderThan(id, oldest);
      const count = this.length[id] as number;
      if (count > 0 && sample.at <= this.timeAt(id, count - 1)) {
        refused++;
        continue;
      }
      this.push(id, sample.at, sample.value);
      added++;
    }
    return { added, refused };
  }

  /** Fills the tier on start from stored rows (any order), keeping those inside the window. */
  warm(rows: Iterable<Sample>, now: number): AddResult {
    return this.add(
      [...rows].sort((a, b) => a.at - b.at),
      now,
    );
  }

  /** Drops samples older than the window from every series, and series left empty. */
  evict(now: number): void {
    const oldest = now - this.windowMs;
    for (let id = 0; id < this.keys.length; id++) {
      if (this.keys[id] === undefined) continue;
      this.dropOlderThan(id, oldest);
      if (this.length[id] === 0) this.remove(id);
    }
  }

  /** The samples of a series at or after `since`, oldest first. */
  window(key: string, since: number): { at: number; value: number }[] {
    const id = this.ids.get(key);
    if (id === undefined) return [];
    const out: { at: number; value: number }[] = [];
    for (let i = 0; i < (this.length[id] as number); i++) {
      const at = this.timeAt(id, i);
      if (at >= since) out.push({ at, value: this.valueAt(id, i) });
    }
    return out;
  }

  latest(key: string): { at: number; value: number } | undefined {
    const id = this.ids.get(key);
    if (id === undefined || this.length[id] === 0) return undefined;
    const last = (this.length[id] as number) - 1;
    return { at: this.timeAt(id, last), value: this.valueAt(id, last) };
  }

  get seriesCount(): number {
    return this.ids.size;
  }

  /** Bytes held in typed arrays (the rings and per-series fields), not counting keys and maps. */
  typedBytes(): number {
    const perSeries = [this.ringClass, this.ring, this.head, this.length, this.metricId, this.labelSetId];
    return (
      this.pools.reduce((sum, pool) => sum + pool.bytes(), 0) +
      perSeries.reduce((sum, array) => sum + array.byteLength, this.deviceId.byteLength)
    );
  }

  // The evaluator's allocation-free reading path: series ids of a device, then samples by index.

  seriesOf(device: string): readonly number[] {
    const id = this.deviceIds.get(device);
    return id === undefined ? NO_SERIES : (this.seriesByDevice[id] as number[]);
  }

  keyOf(id: number): string {
    return this.keys[id] as string;
  }

  metricOf(id: number): string {
    return this.metrics[this.metricId[id] as number] as string;
  }

  labelsOf(id: number): Readonly<Record<string, string>> {
    return (this.labelSets[this.labelSetId[id] as number] as { labels: Record<string, string> }).labels;
  }

  /** The canonical labels of a series: its instance in an alert key. */
  instanceOf(id: number): string {
    return (this.labelSets[this.labelSetId[id] as number] as { canonical: string }).canonical;
  }

  count(id: number): number {
    return this.length[id] as number;
  }

  /** Sample `i` of a series, 0 the oldest. */
  timeAt(id: number, i: number): number {
    const pool = this.pools[this.ringClass[id] as number] as RingPool;
    return pool.times[this.slot(id, pool, i)] as number;
  }

  valueAt(id: number, i: number): number {
    const pool = this.pools[this.ringClass[id] as number] as RingPool;
    return pool.values[this.slot(id, pool, i)] as number;
  }

  private slot(id: number, pool: RingPool, i: number): number {
    return (
      (this.ring[id] as number) * pool.capacity + (((this.head[id] as number) + i) & (pool.capacity - 1))
    );
  }

  private push(id: number, at: number, value: number): void {
    let pool = this.pools[this.ringClass[id] as number] as RingPool;
    if (this.length[id] === pool.capacity) {
      if (this.ringClass[id] === MAX_CLASS) {
        this.head[id] = ((this.head[id] as number) + 1) & (pool.capacity - 1);
        (this.length[id] as number)--;
      } else {
        pool = this.moveToLargerRing(id, pool);
      }
    }
    const slot = this.slot(id, pool, this.length[id] as number);
    pool.times[slot] = at;
    pool.values[slot] = value;
    (this.length[id] as number)++;
  }

  private moveToLargerRing(id: number, from: RingPool): RingPool {
    const nextClass = (this.ringClass[id] as number) + 1;
    const to = this.pools[nextClass] as RingPool;
    const ring = to.allocate();
    const count = this.length[id] as number;
    for (let i = 0; i < count; i++) {
      const source = this.slot(id, from, i);
      to.times[ring * to.capacity + i] = from.times[source] as number;
      to.values[ring * to.capacity + i] = from.values[source] as number;
    }
    from.release(this.ring[id] as number);
    this.ringClass[id] = nextClass;
    this.ring[id] = ring;
    this.head[id] = 0;
    return to;
  }

  private dropOlderThan(id: number, oldest: number): void {
    const pool = this.pools[this.ringClass[id] as number] as RingPool;
    while ((this.length[id] as number) > 0 && this.timeAt(id, 0) < oldest) {
      this.head[id] = ((this.head[id] as number) + 1) & (pool.capacity - 1);
      (this.length[id] as number)--;
    }
  }

  private create(key: string, sample: Sample): number {
    const id = this.freeIds.pop() ?? this.keys.length;
    if (id >= this.ring.length) this.growSeries(this.ring.length * 2);
    this.keys[id] = key;
    this.ids.set(key, id);
    this.ringClass[id] = 0;
    this.ring[id] = (this.pools[0] as RingPool).allocate();
    this.head[id] = 0;
    this.length[id] = 0;
    this.metricId[id] = intern(this.metricIds, this.metrics, sample.metric, () => sample.metric);
    const canonical = canonicalLabels(sample.labels);
    this.labelSetId[id] = intern(this.labelSetIds, this.labelSets, canonical, () => ({
      canonical,
      labels: Object.freeze({ ...sample.labels }),
    }));
    const device = intern(this.deviceIds, this.devices, sample.device, () => sample.device);
    this.deviceId[id] = device;
    if (this.seriesByDevice[device] === undefined) this.seriesByDevice[device] = [];
    (this.seriesByDevice[device] as number[]).push(id);
    return id;
  }

  private remove(id: number): void {
    const key = this.keys[id] as string;
    this.ids.delete(key);
    this.keys[id] = undefined;
    (this.pools[this.ringClass[id] as number] as RingPool).release(this.ring[id] as number);
    const ofDevice = this.seriesByDevice[this.deviceId[id] as number] as number[];
    ofDevice.splice(ofDevice.indexOf(id), 1);
    this.freeIds.push(id);
  }

  private growSeries(length: number): void {
    this.ringClass = grown(this.ringClass, length);
    this.ring = grown(this.ring, length);
    this.head = grown(this.head, length);
    this.length = grown(this.length, length);
    this.metricId = grown(this.metricId, length);
    this.labelSetId = grown(this.labelSetId, length);
    this.deviceId = grown(this.deviceId, length);
  }
}

function intern<T>(ids: Map<string, number>, values: T[], key: string, make: () => T): number {
  let id = ids.get(key);
  if (id === undefined) {
    id = values.length;
    values.push(make());
    ids.set(key, id);
  }
  return id;
}
