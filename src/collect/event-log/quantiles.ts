/**
 * Bounded quantile estimation for the task metrics of one stage attempt.
 *
 * Each successful task adds one row of metric values. Rows are kept exactly up to a capacity; past it every
 * metric moves into a DDSketch (relative accuracy 1%), so memory per stage is bounded whatever the number of
 * tasks. Quantiles follow the History Server's definition: the value at sorted index
 * `min(floor(q * count), count - 1)`.
 * @module
 */

const GAMMA = (1 + 0.01) / (1 - 0.01);
const LOG_GAMMA = Math.log(GAMMA);

/** A DDSketch of non-negative values with 1% relative accuracy. */
class DDSketch {
  private readonly buckets = new Map<number, number>();
  private zeros = 0;

  add(v: number): void {
    if (v <= 0) {
      this.zeros++;
      return;
    }
    const k = Math.ceil(Math.log(v) / LOG_GAMMA);
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
  }

  valueAtRank(rank: number, keys: number[]): number {
    if (rank < this.zeros) return 0;
    let seen = this.zeros;
    for (const k of keys) {
      seen += this.buckets.get(k)!;
      if (seen > rank) return Math.round((2 * GAMMA ** k) / (GAMMA + 1));
    }
    return Math.round(GAMMA ** keys[keys.length - 1]!);
  }

  /** Add every value of `other`. */
  addAll(other: DDSketch): void {
    this.zeros += other.zeros;
    for (const [k, c] of other.buckets) this.buckets.set(k, (this.buckets.get(k) ?? 0) + c);
  }

  sortedKeys(): number[] {
    return [...this.buckets.keys()].sort((a, b) => a - b);
  }
}

/**
 * Add `n` rows of `w` values to the sketches, one per column. A function of its own with nothing after the
 * loop: V8 compiles a long-running loop apart while it runs (on-stack replacement), and code after the loop
 * that had not run yet then sends every later run of that compiled loop back to the interpreter.
 */
function addRows(s: DDSketch[], rows: Float64Array, n: number, w: number): void {
  for (let r = 0; r < n; r++) for (let i = 0; i < w; i++) s[i]!.add(rows[r * w + i]!);
}

/**
 * Row buffers of stages that ended, by length, for the next stages: a stage's rows are one large buffer
 * that grows by doubling, and each new buffer outside V8's heap is fresh memory to zero and fault in.
 */
const freeRows = new Map<number, Float64Array[]>();
/** Buffers kept per length (a few stages are live at once). */
const FREE_ROWS_PER_LENGTH = 4;
/** Values kept in free buffers at most (4 MiB): a thread holds no more than that between collections. */
const FREE_ROWS_MAX_VALUES = 512 * 1024;
let freeValues = 0;

function takeRows(length: number): Float64Array {
  const rows = freeRows.get(length)?.pop();
  if (!rows) return new Float64Array(length);
  freeValues -= length;
  return rows;
}

function giveRows(rows: Float64Array): void {
  const length = rows.length;
  if (length === 0 || freeValues + length > FREE_ROWS_MAX_VALUES) return;
  let list = freeRows.get(length);
  if (!list) {
    list = [];
    freeRows.set(length, list);
  }
  if (list.length < FREE_ROWS_PER_LENGTH) {
    list.push(rows);
    freeValues += length;
  }
}

/**
 * Values of one metric from tasks that did not succeed. The History Server counts them in a few quantiles
 * (see {@link StageDistributions.addOther}); exact up to the stage's capacity, then a sketch.
 */
class OtherValues {
  values = new Float64Array(8);
  n = 0;
  sketch: DDSketch | null = null;

  add(v: number, capacity: number): void {
    const x = Math.max(v, 0);
    if (this.sketch !== null) {
      this.sketch.add(x);
      return;
    }
    if (this.n === capacity) {
      this.sketch = new DDSketch();
      for (let i = 0; i < this.n; i++) this.sketch.add(this.values[i]!);
      this.sketch.add(x);
      this.values = new Float64Array(0);
      return;
    }
    if (this.n === this.values.length) {
      const grown = new Float64Array(Math.min(capacity, this.n * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = x;
  }
}

/** Rows buffered between folds once a stage is past its capacity. */
const FOLD_ROWS = 256;

/**
 * One metric's column, sorted for its quantiles: one buffer reused for every metric of every stage (up to
 * `COLUMN_MAX_VALUES` rows; a larger capacity gets a buffer per call).
 */
let column = new Float64Array(64);
const COLUMN_MAX_VALUES = 64 * 1024;

/**
 * Quantiles of a fixed number of metrics over the rows (tasks) added.
 *
 * Rows are appended to one buffer. While no more rows than the capacity were added they are the exact
 * values; past it, every full buffer is folded into the sketches and the buffer refilled. `add` has that one
 * path for every row (V8 compiles it once, with the code of the task events it is inlined into); growing the
 * buffer and folding it, a few times per stage, are apart in `makeRoom`.
 */
export class StageDistributions {
  private rows: Float64Array;
  /** Rows in `rows`, not folded into the sketches yet. */
  private n = 0;
  private total = 0;
  private sketches: DDSketch[] | null = null;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  /** By metric: values of tasks that did not succeed (see {@link StageDistributions.addOther}). */
  private others: (OtherValues | undefined)[] | null = null;

  /**
   * @param width - metrics per row
   * @param capacity - rows kept exactly before switching to sketches
   */
  constructor(
    private readonly width: number,
    private readonly capacity: number,
  ) {
    this.rows = takeRows(width * Math.min(capacity, 32));
    this.min = new Float64Array(width).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  }

  /** Rows added. */
  get count(): number {
    return this.total;
  }

  /** Whether quantiles are exact (no more rows than the capacity were added). */
  get isExact(): boolean {
    return this.sketches === null;
  }

  /** Add one row (`width` values; negatives are read as 0). */
  add(values: Float64Array): void {
    const w = this.width;
    const min = this.min;
    const max = this.max;
    for (let i = 0; i < w; i++) {
      const v = values[i]!;
      if (v < min[i]!) min[i] = v;
      if (v > max[i]!) max[i] = v;
    }
    if ((this.n + 1) * w > this.rows.length) this.makeRoom();
    // A loop, not `rows.set(values.subarray(...))`: no view object per row on this hot path.
    const rows = this.rows;
    const at = this.n * w;
    for (let i = 0; i < w; i++) rows[at + i] = values[i]!;
    this.n++;
    this.total++;
  }

  /**
   * Add a value of `metric` from a task that did not succeed. The History Server sorts `duration`,
   * `schedulerDelay` and `gettingResultTime` over every finished task of the stage (its indexes of the other
   * metrics hold only successful tasks), while the ranks of its quantiles come from the successful tasks'
   * count: such values then count in that metric's quantiles, and not in {@link StageDistributions.count}.
   */
  addOther(metric: number, value: number): void {
    this.others ??= [];
    let o = this.others[metric];
    if (o === undefined) {
      o = new OtherValues();
      this.others[metric] = o;
    }
    o.add(value, this.capacity);
  }

  /** Room for one more row: a larger buffer while the rows fit the capacity, else the rows folded. */
  private makeRoom(): void {
    if (this.sketches === null && this.n < this.capacity) {
      const rows = takeRows(Math.min(this.capacity, this.n * 2) * this.width);
      rows.set(this.rows);
      giveRows(this.rows);
      this.rows = rows;
      return;
    }
    this.fold();
  }

  /** Move the buffered rows into the sketches (made on the first fold). */
  private fold(): void {
    const w = this.width;
    let s = this.sketches;
    if (s === null) {
      s = [];
      for (let i = 0; i < w; i++) s.push(new DDSketch());
      this.sketches = s;
    }
    const rows = this.rows;
    const n = this.n;
    this.n = 0;
    // Once folded, rows only wait for the next fold: a smaller buffer is enough.
    if (rows.length > FOLD_ROWS * w) this.rows = takeRows(FOLD_ROWS * w);
    addRows(s, rows, n, w);
    if (rows !== this.rows) giveRows(rows);
  }

  /**
   * Hand the row buffer on to the next stage: quantiles are no longer asked for (the stage ended and its
   * summary was computed).
   */
  release(): void {
    giveRows(this.rows);
    this.rows = new Float64Array(0);
    this.n = 0;
  }

  /** The values of metric `metric` at the quantiles `qs` (0..1); empty when no row was added. */
  quantiles(metric: number, qs: readonly number[]): number[] {
    const n = this.total;
    if (n === 0) return [];
    const other = this.others?.[metric];
    if (other !== undefined) return this.quantilesWithOthers(metric, other, qs);
    // Plain loops, no closures: this runs for every metric of every stage. The result is a copy of `qs`
    // written over, not an array literal pushed onto: with the literal, V8 threw this compiled code away
    // ("code dependencies") and compiled it again several times per run (see CHANGELOG).
    const out = qs.slice();
    const lo = Math.max(0, this.min[metric]!);
    if (lo === Math.max(0, this.max[metric]!)) {
      for (let i = 0; i < qs.length; i++) out[i] = lo;
      return out;
    }
    if (this.sketches === null) {
      if (column.length < n && n <= COLUMN_MAX_VALUES)
        column = new Float64Array(Math.min(COLUMN_MAX_VALUES, Math.max(n, column.length * 2)));
      const col = n <= column.length ? column.subarray(0, n) : new Float64Array(n);
      const w = this.width;
      for (let r = 0; r < n; r++) {
        const v = this.rows[r * w + metric]!;
        col[r] = Math.max(v, 0);
      }
      col.sort();
      for (let i = 0; i < qs.length; i++) out[i] = col[rankOf(qs[i]!, n)]!;
      return out;
    }
    if (this.n > 0) this.fold();
    const sketch = this.sketches[metric]!;
    const keys = sketch.sortedKeys();
    for (let i = 0; i < qs.length; i++) out[i] = sketch.valueAtRank(rankOf(qs[i]!, n), keys);
    return out;
  }

  /**
   * Quantiles of a metric with values of tasks that did not succeed: ranks over the successful tasks'
   * count, values from all of them (see {@link StageDistributions.addOther}). Rare, and apart from the
   * common path.
   */
  private quantilesWithOthers(metric: number, other: OtherValues, qs: readonly number[]): number[] {
    const n = this.total;
    const out = qs.slice();
    if (this.sketches === null && other.sketch === null) {
      const w = this.width;
      const col = new Float64Array(n + other.n);
      for (let r = 0; r < n; r++) col[r] = Math.max(this.rows[r * w + metric]!, 0);
      col.set(other.values.subarray(0, other.n), n);
      col.sort();
      for (let i = 0; i < qs.length; i++) out[i] = col[rankOf(qs[i]!, n)]!;
      return out;
    }
    // Past the capacity on either side: one sketch of both.
    const sketch = new DDSketch();
    if (this.sketches === null) {
      for (let r = 0; r < this.n; r++) sketch.add(Math.max(this.rows[r * this.width + metric]!, 0));
    } else {
      if (this.n > 0) this.fold();
      sketch.addAll(this.sketches[metric]!);
    }
    if (other.sketch === null) for (let i = 0; i < other.n; i++) sketch.add(other.values[i]!);
    else sketch.addAll(other.sketch);
    const keys = sketch.sortedKeys();
    for (let i = 0; i < qs.length; i++) out[i] = sketch.valueAtRank(rankOf(qs[i]!, n), keys);
    return out;
  }
}

/**
 * One small instance of each class, folded once, kept for the life of the thread. V8 compiles the quantile
 * code for the shapes (hidden classes) of these objects; when every instance is gone (between logs) a shape
 * can be collected, and the next stage gets a new one: the compiled code was then thrown away and compiled
 * again (5 and 6 times in two one-thread runs of the bench folder), in every thread. A live instance keeps
 * the shapes, with their fields already changed once as folding changes them (V8 also compiles again when
 * a field first changes).
 */
const KEEP_SHAPES = new StageDistributions(1, 1);
{
  const row = new Float64Array(1);
  KEEP_SHAPES.add(row);
  row[0] = 5;
  KEEP_SHAPES.add(row);
  KEEP_SHAPES.add(row);
  KEEP_SHAPES.quantiles(0, [0.5]);
}

/** The rank (0-based) of quantile `q` among `n` sorted values. */
function rankOf(q: number, n: number): number {
  return Math.min(Math.floor(q * n), n - 1);
}
