/**
 * `idle-executors`: the executors' core-time (cores × time alive, from when each was added to when it was
 * removed or the application ended) against the task time they ran (their `totalDuration`), and how much of
 * the idle time fell while no stage ran at all (driver-side work).
 * @module
 */
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type { Heuristic } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { mergeIntervals, slotSpans, stageSpans } from '../timeline.js';
import { formatRatio } from '../units.js';
import { isLocalMode, workersOf } from './common.js';

const HOUR = 3_600_000;

/** How the executors' core-time was spent. */
export interface CoreTime {
  /** Executors (the driver excluded). */
  executors: number;
  /** Cores × time alive, ms. */
  allocatedMs: number;
  /** Task time the executors ran, ms (at most `allocatedMs`). */
  usedMs: number;
  /** Core-time while at least one stage was running, ms. */
  allocatedDuringStagesMs: number;
  /** `1 - usedMs / allocatedMs`. */
  idleRatio: number;
}

/** The executors' core-time, or `undefined` in local mode or when no executor was alive. */
export function coreTimeOf(model: ApplicationAttemptModel): CoreTime | undefined {
  if (isLocalMode(model)) return undefined;
  const slots = slotSpans(model);
  const windows = mergeIntervals(stageSpans(model));
  let allocatedMs = 0;
  let duringMs = 0;
  for (const s of slots) {
    allocatedMs += s.cores * Math.max(0, s.end - s.start);
    for (const [a, b] of windows)
      duringMs += s.cores * Math.max(0, Math.min(b, s.end) - Math.max(a, s.start));
  }
  if (allocatedMs <= 0) return undefined;
  let used = 0;
  for (const e of workersOf(model)) used += e.totalDuration;
  const usedMs = Math.min(used, allocatedMs);
  return {
    executors: slots.length,
    allocatedMs,
    usedMs,
    allocatedDuringStagesMs: duringMs,
    idleRatio: 1 - usedMs / allocatedMs,
  };
}

/**
 * Allocated against used executor core-time.
 *
 * Finding: `idle-executors`.
 */
export const idleExecutorsHeuristic: Heuristic = {
  id: 'idle-executors',
  description:
    'Executor core-time (cores × time alive) against the task time the executors ran; tells idle time while stages ran from idle time between them.',
  evaluate(model, context) {
    const t = context.thresholds.idleExecutors;
    const c = coreTimeOf(model);
    if (!c || c.allocatedMs / HOUR < t.minCoreHours) return [];
    const severity = severityOf(c.idleRatio, t.idleRatio);
    if (severity === 'none') return [];
    const idleMs = c.allocatedMs - c.usedMs;
    const outsideMs = Math.max(0, c.allocatedMs - c.allocatedDuringStagesMs);
    const outsideShare = idleMs > 0 ? Math.min(1, outsideMs / idleMs) : 0;
    const dynamic = context.property('spark.dynamicAllocation.enabled') === 'true';
    const advice: string[] = [];
    const properties: Record<string, string> = {};
    if (outsideShare >= 0.5) {
      advice.push(
        `${formatRatio(outsideShare)} of the idle core-time fell while no stage ran: the driver was working alone (planning, collecting, writing, or waiting).`,
      );
    } else {
      advice.push(
        `${formatRatio(1 - outsideShare)} of the idle core-time fell while stages ran: they had fewer tasks than cores, or waited on a few long tasks (see partition-count and stage-skew).`,
      );
    }
    if (!dynamic) {
      properties['spark.dynamicAllocation.enabled'] = 'true';
      if (context.property('spark.shuffle.service.enabled') !== 'true') {
        properties['spark.dynamicAllocation.shuffleTracking.enabled'] = 'true';
      }
      advice.push(
        'Turn on dynamic allocation so idle executors are released and requested again when tasks wait, or ask for fewer executors (spark.executor.instances).',
      );
    } else {
      properties['spark.dynamicAllocation.executorIdleTimeout'] = '30s';
      advice.push(
        'Dynamic allocation is on but kept executors idle: release them sooner (spark.dynamicAllocation.executorIdleTimeout), and check spark.dynamicAllocation.minExecutors and, with shuffle tracking, spark.dynamicAllocation.shuffleTracking.timeout.',
      );
    }
    return [
      {
        id: 'idle-executors',
        title: 'Idle executors',
        severity,
        summary: `${c.executors} executor${c.executors === 1 ? '' : 's'} had ${(c.allocatedMs / HOUR).toFixed(2)} core-hours and ran tasks for ${(c.usedMs / HOUR).toFixed(2)}: ${formatRatio(c.idleRatio)} idle.`,
        evidence: {
          metrics: {
            allocatedCoreMs: c.allocatedMs,
            usedCoreMs: c.usedMs,
            idleRatio: c.idleRatio,
            idleOutsideStagesCoreMs: outsideMs,
            executors: c.executors,
          },
          executorIds: workersOf(model)
            .filter((e) => e.totalTasks === 0)
            .map((e) => e.id),
        },
        advice,
        properties,
      },
    ];
  },
};
