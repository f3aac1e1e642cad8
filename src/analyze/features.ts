/**
 * Features and similarity: a fixed-length vector per application attempt (data volumes, spill, the stage
 * DAG's shape, its normalized name, its configuration and how its tasks behaved), a similarity with
 * explainable parts, and an in-memory index that returns the k most similar of 100,000 runs in
 * milliseconds.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';
import { sparkProperty } from './analyzer.js';
import { stageTaskTime } from './timeline.js';
import { parseSparkBytes } from './units.js';

/** Version of the feature layout; stored vectors of another version are recomputed. */
export const FEATURES_VERSION = 'f1';

/** The parts of the vector, each compared on its own and reported in a similarity. */
export const FEATURE_PARTS = {
  /** log10 bytes: input, output, shuffle read, shuffle write; log10 task time. */
  volume: [0, 5],
  /** log10 memory and disk spill. */
  spill: [5, 7],
  /** Stage-DAG shape: log2 stages, log2 jobs, DAG depth, shuffle stages' share, log2 max tasks per stage. */
  shape: [7, 12],
  /** The normalized name: 16 hashed token buckets (unit length). */
  name: [12, 28],
  /** Configuration: log2 executor memory per core (GiB), log2 cores per executor, Kryo, dynamic allocation, AQE. */
  config: [28, 33],
  /** Task behaviour: CPU time over run time, GC over run time, failed tasks' share. */
  behaviour: [33, 36],
} as const;

/** Length of a feature vector. */
export const FEATURE_LENGTH = 36;

/** A part of the vector by name. */
export type FeaturePart = keyof typeof FEATURE_PARTS;

/** Weights of the parts in the overall similarity. */
export const DEFAULT_PART_WEIGHTS: Readonly<Record<FeaturePart, number>> = {
  volume: 3,
  spill: 1,
  shape: 2,
  name: 2,
  config: 1,
  behaviour: 1,
};

/**
 * Scale of each numeric part: two runs whose values differ by this much (mean absolute difference per
 * component) have part similarity 0.
 */
const PART_SCALE: Readonly<Record<Exclude<FeaturePart, 'name'>, number>> = {
  volume: 2, // two orders of magnitude
  spill: 3,
  shape: 3,
  config: 2,
  behaviour: 0.5,
};

const log10 = (x: number) => Math.log10(1 + Math.max(0, x));
const log2 = (x: number) => Math.log2(1 + Math.max(0, x));

/** Name tokens of a job name: lower-cased words with digits, dates and ids dropped. */
export function nameTokens(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((t) => t.length > 1);
}

function hashToken(t: string): number {
  let h = 2166136261;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619);
  return (h >>> 0) % 16;
}

/** The feature vector of an attempt (see {@link FEATURE_PARTS} for the layout). */
export function featuresOf(model: ApplicationAttemptModel): number[] {
  const v = new Array<number>(FEATURE_LENGTH).fill(0);
  let input = 0;
  let output = 0;
  let shuffleRead = 0;
  let shuffleWrite = 0;
  let taskTime = 0;
  let memSpill = 0;
  let diskSpill = 0;
  let cpuNs = 0;
  let run = 0;
  let gc = 0;
  let failed = 0;
  let tasks = 0;
  let maxTasks = 0;
  let shuffleStages = 0;
  const depth = new Map<number, number>();
  const stages = [...model.stages].sort((a, b) => a.stageId - b.stageId);
  for (const s of stages) {
    input += s.inputBytes;
    output += s.outputBytes;
    shuffleRead += s.shuffleReadBytes;
    shuffleWrite += s.shuffleWriteBytes;
    taskTime += stageTaskTime(s);
    memSpill += s.memoryBytesSpilled;
    diskSpill += s.diskBytesSpilled;
    cpuNs += s.executorCpuTime;
    run += s.executorRunTime;
    gc += s.jvmGcTime;
    failed += s.numFailedTasks;
    tasks += s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks;
    maxTasks = Math.max(maxTasks, s.numTasks);
    if (s.shuffleWriteBytes > 0) shuffleStages++;
    let d = 0;
    for (const p of s.parentIds) d = Math.max(d, (depth.get(p) ?? 0) + 1);
    depth.set(s.stageId, Math.max(depth.get(s.stageId) ?? 0, d));
  }
  const uniqueStages = new Set(stages.map((s) => s.stageId)).size;
  v[0] = log10(input);
  v[1] = log10(output);
  v[2] = log10(shuffleRead);
  v[3] = log10(shuffleWrite);
  v[4] = log10(taskTime);
  v[5] = log10(memSpill);
  v[6] = log10(diskSpill);
  v[7] = log2(uniqueStages);
  v[8] = log2(model.jobs.length);
  v[9] = log2(Math.max(0, ...depth.values()));
  v[10] = uniqueStages > 0 ? (3 * shuffleStages) / uniqueStages : 0;
  v[11] = log2(maxTasks);
  const tokens = nameTokens(model.application.name);
  for (const t of tokens) v[12 + hashToken(t)]! += 1;
  const norm = Math.hypot(...v.slice(12, 28));
  for (let i = 12; i < 28; i++) v[i] = norm > 0 ? v[i]! / norm : 0;
  const prop = (k: string) => sparkProperty(model, k);
  const cores =
    Number(prop('spark.executor.cores')) || Math.max(1, ...model.executors.map((e) => e.totalCores));
  const mem =
    (parseSparkBytes(prop('spark.executor.memory') ?? prop('spark.driver.memory') ?? '1g', 'm') ??
      1024 ** 3) /
    1024 ** 3;
  v[28] = log2(mem / cores);
  v[29] = log2(cores);
  v[30] = /Kryo/.test(prop('spark.serializer') ?? '') ? 1 : 0;
  v[31] = prop('spark.dynamicAllocation.enabled') === 'true' ? 1 : 0;
  v[32] = prop('spark.sql.adaptive.enabled') === 'false' ? 0 : 1;
  v[33] = run > 0 ? Math.min(1.5, cpuNs / 1e6 / run) : 0;
  v[34] = run > 0 ? Math.min(1, gc / run) : 0;
  v[35] = tasks > 0 ? failed / tasks : 0;
  return v;
}

/** A similarity (0 to 1) with its parts. */
export interface Similarity {
  /** Weighted mean of the parts. */
  value: number;
  parts: Record<FeaturePart, number>;
}

/** The parts in layout order, as flat tables: the one scoring routine reads them. */
const PARTS = Object.entries(FEATURE_PARTS) as [FeaturePart, readonly [number, number]][];
const PART_FROM = PARTS.map(([, r]) => r[0]);
const PART_TO = PARTS.map(([, r]) => r[1]);
/** The part's scale; 0 marks the name part (compared by cosine). */
const PART_SCALES = PARTS.map(([name]) => (name === 'name' ? 0 : PART_SCALE[name]));

/**
 * Similarity (0 to 1) of one part of `a` (from `ao`) and `b` (from `bo`): for the name, the cosine of the
 * unit-length token vectors (two names without a word are alike; one without is unlike any); for the
 * others, one minus the mean absolute difference over the part's scale.
 */
function partSimilarity(
  part: number,
  a: ArrayLike<number>,
  ao: number,
  b: ArrayLike<number>,
  bo: number,
): number {
  const from = PART_FROM[part]!;
  const to = PART_TO[part]!;
  const scale = PART_SCALES[part]!;
  let acc = 0;
  if (scale === 0) {
    let na = 0;
    let nb = 0;
    for (let i = from; i < to; i++) {
      acc += a[ao + i]! * b[bo + i]!;
      na += a[ao + i]!;
      nb += b[bo + i]!;
    }
    return na === 0 && nb === 0 ? 1 : Math.max(0, Math.min(1, acc));
  }
  for (let i = from; i < to; i++) acc += Math.abs(a[ao + i]! - b[bo + i]!);
  return Math.max(0, 1 - acc / (to - from) / scale);
}

/** The similarity of two feature vectors, part by part. */
export function similarity(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  weights: Readonly<Record<FeaturePart, number>> = DEFAULT_PART_WEIGHTS,
): Similarity {
  const parts = {} as Record<FeaturePart, number>;
  let total = 0;
  let wsum = 0;
  for (let p = 0; p < PARTS.length; p++) {
    const name = PARTS[p]![0];
    parts[name] = partSimilarity(p, a, 0, b, 0);
    total += weights[name] * parts[name];
    wsum += weights[name];
  }
  return { value: wsum > 0 ? total / wsum : 0, parts };
}

/** One entry of a {@link FeatureIndex}. */
export interface IndexedRun {
  appId: string;
  attemptId: string;
  jobKey: string;
}

/** A neighbour returned by {@link FeatureIndex.nearest}. */
export interface Neighbour extends IndexedRun {
  similarity: Similarity;
}

/**
 * The feature vectors of many runs in one flat array, searched exhaustively (36 numbers per run, so
 * 100,000 runs are scanned in a few milliseconds, with no approximation).
 *
 * @example
 * ```ts
 * const index = new FeatureIndex();
 * for (const m of models) index.add({ appId: m.appId, attemptId: m.attemptId ?? '', jobKey: jobKeyOf(m.application.name) }, featuresOf(m));
 * index.nearest(featuresOf(model), 5, { excludeJobKey: 'daily etl' });
 * ```
 */
export class FeatureIndex {
  private data = new Float64Array(FEATURE_LENGTH * 1024);
  private readonly runs: IndexedRun[] = [];

  /** Runs in the index. */
  get size(): number {
    return this.runs.length;
  }

  /** Add a run and its vector. */
  add(run: IndexedRun, vector: ArrayLike<number>): void {
    if (vector.length !== FEATURE_LENGTH) {
      throw new RangeError(`a feature vector has ${FEATURE_LENGTH} numbers, got ${vector.length}`);
    }
    const at = this.runs.length * FEATURE_LENGTH;
    if (at + FEATURE_LENGTH > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(vector, at);
    this.runs.push(run);
  }

  /** The `k` most similar runs to `vector`, most similar first. */
  nearest(
    vector: ArrayLike<number>,
    k: number,
    options: {
      excludeJobKey?: string;
      exclude?: (run: IndexedRun) => boolean;
      weights?: Record<FeaturePart, number>;
    } = {},
  ): Neighbour[] {
    const weights = options.weights ?? DEFAULT_PART_WEIGHTS;
    const w = PARTS.map(([name]) => weights[name]);
    const wsum = w.reduce((a, b) => a + b, 0) || 1;
    const data = this.data;
    const q = Float64Array.from(vector);
    // Keep the best k in a small sorted array (k is small).
    const best: { i: number; s: number }[] = [];
    const view = (i: number) => data.subarray(i * FEATURE_LENGTH, (i + 1) * FEATURE_LENGTH);
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (options.excludeJobKey !== undefined && run.jobKey === options.excludeJobKey) continue;
      if (options.exclude?.(run)) continue;
      const base = i * FEATURE_LENGTH;
      let s = 0;
      for (let p = 0; p < w.length; p++) s += w[p]! * partSimilarity(p, q, 0, data, base);
      s /= wsum;
      if (best.length < k || s > best[best.length - 1]!.s) {
        let j = best.length < k ? best.length : best.length - 1;
        if (best.length < k) best.push({ i, s });
        while (j > 0 && best[j - 1]!.s < s) {
          best[j] = best[j - 1]!;
          j--;
        }
        best[j] = { i, s };
      }
    }
    return best.map(({ i }) => ({ ...this.runs[i]!, similarity: similarity(vector, view(i), weights) }));
  }
}
