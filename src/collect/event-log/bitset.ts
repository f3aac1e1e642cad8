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

/**
 * The ids of the tasks running now (started, not ended): a set of non-negative integers (task ids, up to
 * 2^53) in flat arrays, open addressing with linear probing. Unlike a `Map`, adding and removing the
 * millions of task ids a log holds allocates nothing once the table is as large as the most tasks running
 * at once.
 */
export class TaskIdSet {
  private keys = new Float64Array(64);
  private used = new Uint8Array(64);
  private mask = 63;
  /** Ids in the set. */
  size = 0;

  private slot(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    return (Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> 0) & this.mask;
  }

  /** Add an id (a no-op when present). */
  add(id: number): void {
    let i = this.slot(id);
    while (this.used[i] === 1) {
      if (this.keys[i] === id) return;
      i = (i + 1) & this.mask;
    }
    this.used[i] = 1;
    this.keys[i] = id;
    if (++this.size * 2 > this.mask) this.grow();
  }

  /** Remove an id; returns whether it was present. */
  delete(id: number): boolean {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let i = this.slot(id);
    for (;;) {
      if (used[i] === 0) return false;
      if (keys[i] === id) break;
      i = (i + 1) & mask;
    }
    // Shift later members of the probe run back into the hole, so that no deleted marks pile up.
    let hole = i;
    for (let j = (i + 1) & mask; used[j] === 1; j = (j + 1) & mask) {
      const home = this.slot(keys[j]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        keys[hole] = keys[j]!;
        hole = j;
      }
    }
    used[hole] = 0;
    this.size--;
    return true;
  }

  private grow(): void {
    const keys = this.keys;
    const used = this.used;
    this.keys = new Float64Array(keys.length * 2);
    this.used = new Uint8Array(keys.length * 2);
    this.mask = keys.length * 2 - 1;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (used[i] === 1) this.add(keys[i]!);
  }
}
