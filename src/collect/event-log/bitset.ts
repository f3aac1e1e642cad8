/**
 * A growable set of small non-negative integers (partition indices), one bit each, that counts its members.
 * @module
 */
export class IndexSet {
  private words: Uint32Array;
  /** Number of distinct indices added. */
  size = 0;

  constructor(expected = 64) {
    this.words = new Uint32Array(Math.max(1, (expected + 31) >>> 5));
  }

  /** Free the bits, keeping `size` (for a stage that will get no more tasks). */
  release(): void {
    this.words = new Uint32Array(1);
  }

  /** Add an index; returns whether it was new. */
  add(index: number): boolean {
    const w = index >>> 5;
    if (w >= this.words.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    const bit = 1 << (index & 31);
    const word = this.words[w]!;
    if ((word & bit) !== 0) return false;
    this.words[w] = word | bit;
    this.size++;
    return true;
  }
}

/** Distinct (stage, partition index) pairs, as a job counts its completed indices. */
export class StageIndexSet {
  private readonly byStage = new Map<number, IndexSet>();
  /** Number of distinct pairs added. */
  size = 0;

  /** Add a pair; returns whether it was new. */
  add(stageId: number, index: number): boolean {
    let set = this.byStage.get(stageId);
    if (!set) {
      set = new IndexSet();
      this.byStage.set(stageId, set);
    }
    if (!set.add(index)) return false;
    this.size++;
    return true;
  }
}
