/**
 * Bounded quantile estimation for per-stage task metrics.
 *
 * Values are kept exactly up to a capacity; past it they move into a DDSketch (relative accuracy 1%), so
 * memory per stage and metric is bounded whatever the number of tasks. Quantiles follow the History
 * Server's definition: the value at sorted index `min(floor(q * count), count - 1)`.
 * @module
 */

const GAMMA = (1 + 0.01) / (1 - 0.01);
const LOG_GAMMA = Math.log(GAMMA);

/** A quantile estimator for one metric of one stage attempt. */
export class QuantileSketch {
  private exact: Float64Array | null;
  private n = 0;
  private buckets: Map<number, number> | null = null;
  private zeros = 0;

  constructor(private readonly capacity: number) {
    this.exact = new Float64Array(Math.min(capacity, 64));
  }

  /** Number of values added. */
  get count(): number {
    return this.n;
  }

  /** Whether the quantiles returned are exact. */
  get isExact(): boolean {
    return this.buckets === null;
  }

  /** Add one value (non-negative metrics; negatives are clamped to 0). */
  add(value: number): void {
    const v = Math.max(value, 0);
    if (this.exact !== null) {
      if (this.n < this.exact.length) {
        this.exact[this.n++] = v;
        return;
      }
      if (this.exact.length < this.capacity) {
        const grown = new Float64Array(Math.min(this.capacity, this.exact.length * 2));
        grown.set(this.exact);
        this.exact = grown;
        this.exact[this.n++] = v;
        return;
      }
      // Capacity reached: move to the sketch.
      this.buckets = new Map();
      for (let i = 0; i < this.n; i++) this.addToSketch(this.exact[i]!);
      this.exact = null;
    }
    this.addToSketch(v);
    this.n++;
  }

  private addToSketch(v: number): void {
    if (v <= 0) {
      this.zeros++;
      return;
    }
    const k = Math.ceil(Math.log(v) / LOG_GAMMA);
    const b = this.buckets!;
    b.set(k, (b.get(k) ?? 0) + 1);
  }

  /** The values at the given quantiles (0..1), `NaN`-free; an empty sketch gives an empty array. */
  quantiles(qs: readonly number[]): number[] {
    if (this.n === 0) return [];
    const ranks = qs.map((q) => Math.min(Math.floor(q * this.n), this.n - 1));
    if (this.exact !== null) {
      const sorted = this.exact.slice(0, this.n).sort();
      return ranks.map((r) => sorted[r]!);
    }
    const keys = [...this.buckets!.keys()].sort((a, b) => a - b);
    return ranks.map((rank) => {
      if (rank < this.zeros) return 0;
      let seen = this.zeros;
      for (const k of keys) {
        seen += this.buckets!.get(k)!;
        if (seen > rank) return Math.round((2 * GAMMA ** k) / (GAMMA + 1));
      }
      return Math.round(GAMMA ** keys[keys.length - 1]!);
    });
  }
}
