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

  sortedKeys(): number[] {
    return [...this.buckets.keys()].sort((a, b) => a - b);
  }
}

/** Quantiles of a fixed number of metrics over the rows (tasks) added. */
export class StageDistributions {
  private rows: Float64Array;
  private n = 0;
  private sketches: DDSketch[] | null = null;
  private readonly min: Float64Array;
  private readonly max: Float64Array;

  /**
   * @param width - metrics per row
   * @param capacity - rows kept exactly before switching to sketches
   */
  constructor(
    private readonly width: number,
    private readonly capacity: number,
  ) {
    this.rows = new Float64Array(width * Math.min(capacity, 32));
    this.min = new Float64Array(width).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(width).fill(Number.NEGATIVE_INFINITY);
  }

  /** Rows added. */
  get count(): number {
    return this.n;
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
    if (this.sketches === null) {
      if (this.n < this.capacity) {
        let rows = this.rows;
        if ((this.n + 1) * w > rows.length) {
          rows = new Float64Array(Math.min(this.capacity, this.n * 2) * w);
          rows.set(this.rows);
          this.rows = rows;
        }
        // A loop, not `rows.set(values.subarray(...))`: no view object per row on this hot path.
        const at = this.n * w;
        for (let i = 0; i < w; i++) rows[at + i] = values[i]!;
        this.n++;
        return;
      }
      const sketches: DDSketch[] = [];
      for (let i = 0; i < w; i++) sketches.push(new DDSketch());
      for (let r = 0; r < this.n; r++) for (let i = 0; i < w; i++) sketches[i]!.add(this.rows[r * w + i]!);
      this.sketches = sketches;
      this.rows = new Float64Array(0);
    }
    const s = this.sketches;
    for (let i = 0; i < w; i++) s[i]!.add(values[i]!);
    this.n++;
  }

  /** The values of metric `metric` at the quantiles `qs` (0..1); empty when no row was added. */
  quantiles(metric: number, qs: readonly number[]): number[] {
    const n = this.n;
    if (n === 0) return [];
    // Plain loops, no closures: this runs for every metric of every stage.
    const out: number[] = [];
    const lo = Math.max(0, this.min[metric]!);
    if (lo === Math.max(0, this.max[metric]!)) {
      for (let i = 0; i < qs.length; i++) out.push(lo);
      return out;
    }
    if (this.sketches === null) {
      const col = new Float64Array(n);
      const w = this.width;
      for (let r = 0; r < n; r++) {
        const v = this.rows[r * w + metric]!;
        col[r] = Math.max(v, 0);
      }
      col.sort();
      for (let i = 0; i < qs.length; i++) out.push(col[rankOf(qs[i]!, n)]!);
      return out;
    }
    const sketch = this.sketches[metric]!;
    const keys = sketch.sortedKeys();
    for (let i = 0; i < qs.length; i++) out.push(sketch.valueAtRank(rankOf(qs[i]!, n), keys));
    return out;
  }
}

/** The rank (0-based) of quantile `q` among `n` sorted values. */
function rankOf(q: number, n: number): number {
  return Math.min(Math.floor(q * n), n - 1);
}
