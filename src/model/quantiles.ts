/**
 * Quantile helpers over the model, following the History Server's definitions.
 * @module
 */
import type { ExecutorMetrics } from './metrics.js';
import type { StageData, TaskMetricDistributions } from './stage.js';

/** The quantiles kept for every stage attempt's task metrics: the History Server's defaults plus tails. */
export const STAGE_QUANTILES: readonly number[] = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];
/** The History Server's default `taskSummary` quantiles. */
export const DEFAULT_QUANTILES: readonly number[] = [0.05, 0.25, 0.5, 0.75, 0.95];

/** Values at quantiles of a list, as the History Server picks them: sorted index `min(floor(q * n), n - 1)`. */
export function quantilesOf(values: readonly number[], qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return qs.map(() => 0);
  const sorted = [...values].sort((a, b) => a - b);
  return qs.map((q) => sorted[Math.min(Math.floor(q * n), n - 1)]!);
}

/** Distributions over the executors of one stage attempt (`ExecutorMetricsDistributions`). */
export interface ExecutorMetricsDistributions {
  quantiles: number[];
  taskTime: number[];
  failedTasks: number[];
  succeededTasks: number[];
  killedTasks: number[];
  inputBytes: number[];
  inputRecords: number[];
  outputBytes: number[];
  outputRecords: number[];
  shuffleRead: number[];
  shuffleReadRecords: number[];
  shuffleWrite: number[];
  shuffleWriteRecords: number[];
  memoryBytesSpilled: number[];
  diskBytesSpilled: number[];
  peakMemoryMetrics: Record<string, number[]>;
}

/**
 * The History Server's `executorMetricsDistributions` of a stage attempt (`withSummaries=true`), computed
 * from its per-executor summaries; `undefined` when it has none (a skipped stage, or no task ended yet), as
 * the History Server then leaves the field out.
 */
export function executorMetricsDistributions(
  stage: Pick<StageData, 'executorSummary'>,
  qs: readonly number[] = [0, 0.25, 0.5, 0.75, 1],
): ExecutorMetricsDistributions | undefined {
  const summaries = Object.values(stage.executorSummary);
  if (summaries.length === 0) return undefined;
  const of = (f: (s: (typeof summaries)[number]) => number) => quantilesOf(summaries.map(f), qs);
  const names = new Set<string>();
  for (const s of summaries) for (const k of Object.keys(s.peakMemoryMetrics ?? {})) names.add(k);
  const peak: Record<string, number[]> = {};
  for (const name of [...names].sort()) {
    peak[name] = quantilesOf(
      summaries.map((s) => (s.peakMemoryMetrics as ExecutorMetrics | undefined)?.[name] ?? 0),
      qs,
    );
  }
  return {
    quantiles: [...qs],
    taskTime: of((s) => s.taskTime),
    failedTasks: of((s) => s.failedTasks),
    succeededTasks: of((s) => s.succeededTasks),
    killedTasks: of((s) => s.killedTasks),
    inputBytes: of((s) => s.inputBytes),
    inputRecords: of((s) => s.inputRecords),
    outputBytes: of((s) => s.outputBytes),
    outputRecords: of((s) => s.outputRecords),
    shuffleRead: of((s) => s.shuffleRead),
    shuffleReadRecords: of((s) => s.shuffleReadRecords),
    shuffleWrite: of((s) => s.shuffleWrite),
    shuffleWriteRecords: of((s) => s.shuffleWriteRecords),
    memoryBytesSpilled: of((s) => s.memoryBytesSpilled),
    diskBytesSpilled: of((s) => s.diskBytesSpilled),
    peakMemoryMetrics: peak,
  };
}

/**
 * Picks the values at other quantiles from a stage's stored distributions: exact for the quantiles in
 * {@link STAGE_QUANTILES}, the nearest stored quantile otherwise.
 */
export function selectQuantiles(
  dist: TaskMetricDistributions,
  qs: readonly number[],
): TaskMetricDistributions {
  const idx = qs.map((q) => {
    const i = dist.quantiles.indexOf(q);
    if (i >= 0) return i;
    let best = 0;
    for (let j = 1; j < dist.quantiles.length; j++) {
      if (Math.abs(dist.quantiles[j]! - q) < Math.abs(dist.quantiles[best]! - q)) best = j;
    }
    return best;
  });
  const pick = (v: unknown): unknown => {
    if (Array.isArray(v)) return idx.map((i) => v[i]);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pick(x)]));
    }
    return v;
  };
  const out = pick(dist) as TaskMetricDistributions;
  out.quantiles = [...qs];
  return out;
}
