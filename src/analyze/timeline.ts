/**
 * Time facts of an attempt that the efficiency report, the simulator and the heuristics share: when each
 * stage ran, how much task time it took, the durations of its tasks (rebuilt from the quantile sketch,
 * since the model keeps no task list), and which executor slots were alive when.
 * @module
 */
import { parseSparkDate } from '../model/application.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { StageData } from '../model/stage.js';

/** A stage attempt that ran tasks, with its times in epoch ms. */
export interface StageSpan {
  stage: StageData;
  start: number;
  end: number;
  /** Sum of task durations on every executor (successful, failed and killed tasks), ms. */
  taskTimeMs: number;
}

/** Sum of the stage's task durations over its executors (the History Server's `taskTime`), ms. */
export function stageTaskTime(stage: StageData): number {
  let t = 0;
  for (const e of Object.values(stage.executorSummary)) t += e.taskTime;
  if (t > 0) return t;
  // Old logs without per-executor summaries: the run time plus the other parts of a task's duration.
  return stage.executorRunTime + stage.executorDeserializeTime + stage.resultSerializationTime;
}

/** Stage attempts that launched tasks and have both times, in submission order. */
export function stageSpans(model: ApplicationAttemptModel): StageSpan[] {
  const spans: StageSpan[] = [];
  for (const stage of model.stages) {
    if (stage.status === 'SKIPPED' || stage.status === 'PENDING') continue;
    const start = parseSparkDate(stage.submissionTime ?? stage.firstTaskLaunchedTime);
    const end = parseSparkDate(stage.completionTime);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) continue;
    spans.push({ stage, start, end, taskTimeMs: stageTaskTime(stage) });
  }
  spans.sort((a, b) => a.start - b.start || a.stage.stageId - b.stage.stageId);
  return spans;
}

/** The union of `[start, end)` intervals as disjoint windows, in time order. */
export function mergeIntervals(intervals: readonly { start: number; end: number }[]): [number, number][] {
  const windows: [number, number][] = [];
  for (const { start, end } of [...intervals].sort((a, b) => a.start - b.start)) {
    const last = windows[windows.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else windows.push([start, end]);
  }
  return windows;
}

/** Total length of the union of `[start, end)` intervals, ms. */
export function unionLength(intervals: readonly { start: number; end: number }[]): number {
  let total = 0;
  for (const [a, b] of mergeIntervals(intervals)) total += Math.max(0, b - a);
  return total;
}

/** An executor's task slots and when it was alive, epoch ms. */
export interface SlotSpan {
  executorId: string;
  cores: number;
  start: number;
  end: number;
}

/** The application's start and end, epoch ms (end: the last event read while incomplete). */
export function appSpan(model: ApplicationAttemptModel): { start: number; end: number } {
  const a = model.application.attempts[0]!;
  const end = a.endTimeEpoch > 0 ? a.endTimeEpoch : a.lastUpdatedEpoch;
  return { start: a.startTimeEpoch, end: Math.max(end, a.startTimeEpoch) };
}

/**
 * The executors that run tasks, with their cores and lifetimes. In local mode the driver runs the tasks, so
 * it is the one executor when no other executor exists.
 */
export function slotSpans(model: ApplicationAttemptModel): SlotSpan[] {
  const app = appSpan(model);
  const toSpan = (e: ApplicationAttemptModel['executors'][number]): SlotSpan => {
    const start = parseSparkDate(e.addTime);
    const end = parseSparkDate(e.removeTime);
    return {
      executorId: e.id,
      cores: Math.max(1, e.totalCores),
      start: Number.isFinite(start) ? Math.max(start, app.start) : app.start,
      end: Number.isFinite(end) ? Math.min(end, app.end) : app.end,
    };
  };
  const workers = model.executors.filter((e) => e.id !== 'driver');
  if (workers.length > 0) return workers.map(toSpan);
  return model.executors.filter((e) => e.id === 'driver').map(toSpan);
}

/** Task slots alive at any moment of `[start, end)`. */
export function slotsDuring(slots: readonly SlotSpan[], start: number, end: number): number {
  let n = 0;
  for (const s of slots) if (s.start < end && s.end > start) n += s.cores;
  return n;
}

/** The largest number of slots alive at once. */
export function maxConcurrentSlots(slots: readonly SlotSpan[]): number {
  const events: [number, number][] = [];
  for (const s of slots) events.push([s.start, s.cores], [s.end, -s.cores]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

/** The value of a quantile sketch (`quantiles` ascending, `values` at them) at `q`, interpolated linearly. */
export function quantileAt(quantiles: readonly number[], values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  if (q <= quantiles[0]!) return values[0]!;
  for (let i = 1; i < quantiles.length; i++) {
    if (q <= quantiles[i]!) {
      const span = quantiles[i]! - quantiles[i - 1]!;
      const f = span > 0 ? (q - quantiles[i - 1]!) / span : 1;
      return values[i - 1]! + f * (values[i]! - values[i - 1]!);
    }
  }
  return values[values.length - 1]!;
}

/** The longest task of a stage, ms: the top of its duration sketch, else its mean task time. */
export function maxTaskMs(span: StageSpan): number {
  const d = span.stage.taskMetricsDistributions;
  const max = d?.duration[d.duration.length - 1];
  if (max !== undefined && max > 0) return max;
  const n = Math.max(1, span.stage.numCompleteTasks + span.stage.numFailedTasks + span.stage.numKilledTasks);
  return span.taskTimeMs / n;
}

/**
 * Durations of a stage's tasks, rebuilt from its duration sketch at evenly spaced quantiles and scaled so
 * they add up to the stage's task time (failed and killed tasks included), in a fixed pseudo-random order
 * (Spark launches tasks by partition index, not by length).
 */
export function taskDurations(span: StageSpan): number[] {
  const s = span.stage;
  const n = Math.max(1, s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks);
  const d = s.taskMetricsDistributions;
  const out = new Array<number>(n);
  if (d && d.duration.length === d.quantiles.length && d.duration.length > 0) {
    for (let i = 0; i < n; i++) out[i] = quantileAt(d.quantiles, d.duration, (i + 0.5) / n);
  } else out.fill(1);
  const sum = out.reduce((a, b) => a + b, 0);
  const scale = sum > 0 ? span.taskTimeMs / sum : 0;
  for (let i = 0; i < n; i++) out[i]! *= scale;
  // Deterministic shuffle (xorshift seeded by the stage), so long tasks are not all last.
  let x = (s.stageId * 2654435761 + s.attemptId + 1) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * Stage spans grouped into phases: jobs whose stages overlap in time (jobs submitted concurrently) share a
 * phase; phases ran one after the other. Within a phase, stages are in a topological order of the stage
 * DAG (parents have lower stage ids in Spark; attempts of one stage in attempt order).
 */
export function phases(spans: readonly StageSpan[]): StageSpan[][] {
  const jobs = new Map<number, { start: number; end: number; spans: StageSpan[] }>();
  for (const span of spans) {
    const key = span.stage.jobIds.length > 0 ? Math.min(...span.stage.jobIds) : -1 - span.stage.stageId;
    let j = jobs.get(key);
    if (!j) jobs.set(key, (j = { start: span.start, end: span.end, spans: [] }));
    j.start = Math.min(j.start, span.start);
    j.end = Math.max(j.end, span.end);
    j.spans.push(span);
  }
  const out: StageSpan[][] = [];
  let cur: StageSpan[] = [];
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const j of [...jobs.values()].sort((a, b) => a.start - b.start)) {
    if (j.start >= curEnd && cur.length > 0) {
      out.push(cur);
      cur = [];
    }
    cur.push(...j.spans);
    curEnd = Math.max(curEnd, j.end);
  }
  if (cur.length > 0) out.push(cur);
  for (const phase of out) {
    phase.sort((a, b) => a.stage.stageId - b.stage.stageId || a.stage.attemptId - b.stage.attemptId);
  }
  return out;
}
