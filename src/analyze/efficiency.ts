/**
 * Efficiency of an application attempt, in Sparklens' terms: how its wall clock splits between the driver
 * and the executors, its critical path, the ideal time with the executors it had, and the core-hours it
 * was given, used and wasted.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';
import {
  appSpan,
  maxConcurrentSlots,
  maxTaskMs,
  phases,
  type StageSpan,
  slotSpans,
  slotsDuring,
  stageSpans,
  unionLength,
} from './timeline.js';

/** How well one stage attempt used the executors. */
export interface StageEfficiency {
  stageId: number;
  attemptId: number;
  numTasks: number;
  /** Submission to completion, ms. */
  wallMs: number;
  /** Sum of task durations (`executorRunTime` plus deserialization and result serialization), ms. */
  taskTimeMs: number;
  /** The longest task, ms (from the stage's task-duration quantiles). */
  maxTaskMs: number;
  /** Task slots (cores) of the executors alive while the stage ran. */
  slots: number;
  /** `taskTimeMs / wallMs`: how many slots were busy on average. */
  parallelism: number;
  /** `parallelism / slots`, 0 to 1. */
  utilization: number;
}

/** The efficiency report of one attempt. */
export interface EfficiencyReport {
  /** The application's wall clock, ms. */
  wallClockMs: number;
  /** Time when no stage was running (driver-side work: planning, collecting, broadcasting, idle), ms. */
  driverWallClockMs: number;
  /** Time when at least one stage was running, ms. */
  executorWallClockMs: number;
  /**
   * The critical path: the driver time plus, per job, the longest chain of stages through the stage DAG
   * where each stage lasts as long as its longest task (what unlimited executors could achieve), ms.
   */
  criticalPathMs: number;
  /** The driver time plus all task time spread perfectly over the executors' cores, ms. */
  idealMs: number;
  /** The largest number of task slots (executor cores) alive at once. */
  maxSlots: number;
  /** Executors that ran (the driver excluded). */
  executors: number;
  /** Core-hours the executors were given (cores times time alive). */
  coreHoursAvailable: number;
  /** Core-hours spent running tasks. */
  coreHoursUsed: number;
  /** `coreHoursAvailable - coreHoursUsed`. */
  coreHoursWasted: number;
  /** `coreHoursUsed / coreHoursAvailable`, 0 to 1 (0 when nothing was available). */
  coreUtilization: number;
  stages: StageEfficiency[];
}

/** Milliseconds per hour. */
const HOUR = 3_600_000;

/**
 * The efficiency report of an attempt.
 *
 * @example
 * ```ts
 * const e = efficiencyOf(model);
 * console.log(`${(e.coreUtilization * 100).toFixed(0)}% of ${e.coreHoursAvailable.toFixed(1)} core-hours used`);
 * ```
 */
export function efficiencyOf(model: ApplicationAttemptModel): EfficiencyReport {
  const app = appSpan(model);
  const wallClockMs = Math.max(0, app.end - app.start);
  const spans = stageSpans(model);
  const executorWallClockMs = Math.min(wallClockMs, unionLength(spans));
  const driverWallClockMs = Math.max(0, wallClockMs - executorWallClockMs);
  const slots = slotSpans(model);
  const maxSlots = maxConcurrentSlots(slots);

  let taskTimeMs = 0;
  const stages: StageEfficiency[] = spans.map((span) => {
    taskTimeMs += span.taskTimeMs;
    const wallMs = span.end - span.start;
    const n = slotsDuring(slots, span.start, span.end) || maxSlots;
    const parallelism = wallMs > 0 ? span.taskTimeMs / wallMs : 0;
    return {
      stageId: span.stage.stageId,
      attemptId: span.stage.attemptId,
      numTasks: span.stage.numTasks,
      wallMs,
      taskTimeMs: span.taskTimeMs,
      maxTaskMs: maxTaskMs(span),
      slots: n,
      parallelism,
      utilization: n > 0 ? Math.min(1, parallelism / n) : 0,
    };
  });

  let available = 0;
  for (const s of slots) available += s.cores * Math.max(0, s.end - s.start);
  // A log that does not show every executor (old logs, executors added before the log began) still had at
  // least the core time its tasks used.
  const coreHoursAvailable = Math.max(available, taskTimeMs) / HOUR;
  const coreHoursUsed = taskTimeMs / HOUR;
  return {
    wallClockMs,
    driverWallClockMs,
    executorWallClockMs,
    criticalPathMs: driverWallClockMs + jobChains(spans),
    idealMs: driverWallClockMs + (maxSlots > 0 ? taskTimeMs / maxSlots : 0),
    maxSlots,
    executors: model.executors.filter((e) => e.id !== 'driver').length,
    coreHoursAvailable,
    coreHoursUsed,
    coreHoursWasted: Math.max(0, coreHoursAvailable - coreHoursUsed),
    coreUtilization: coreHoursAvailable > 0 ? Math.min(1, coreHoursUsed / coreHoursAvailable) : 0,
    stages,
  };
}

/**
 * Per phase (a job, or jobs that ran concurrently), the longest chain of stages through the stage DAG where
 * each stage lasts as long as its longest task; summed over phases. Attempts of one stage run back to back.
 */
function jobChains(spans: readonly StageSpan[]): number {
  let total = 0;
  for (const list of phases(spans)) {
    const weight = new Map<number, number>();
    const parents = new Map<number, number[]>();
    for (const span of list) {
      weight.set(span.stage.stageId, (weight.get(span.stage.stageId) ?? 0) + maxTaskMs(span));
      parents.set(span.stage.stageId, span.stage.parentIds);
    }
    // Stages come in a topological order (parents first), so one pass finds every longest chain.
    const longest = new Map<number, number>();
    let phaseMax = 0;
    for (const span of list) {
      const id = span.stage.stageId;
      if (longest.has(id)) continue;
      let best = 0;
      for (const p of parents.get(id) ?? []) best = Math.max(best, longest.get(p) ?? 0);
      const v = best + (weight.get(id) ?? 0);
      longest.set(id, v);
      phaseMax = Math.max(phaseMax, v);
    }
    total += phaseMax;
  }
  return total;
}
