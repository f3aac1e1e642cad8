/**
 * `scheduler-delay`: per stage, the median scheduler delay (time a task spent neither running nor
 * (de)serializing: shipping the task to its executor and its result back) against the median task
 * duration. Judges stages whose delay adds up to real time. Needs `taskMetricsDistributions`.
 * @module
 */
import type { StageData } from '../../model/stage.js';
import type { Heuristic, Severity } from '../analyzer.js';
import { severityOf, severityRank } from '../analyzer.js';
import { formatMs, formatRatio } from '../units.js';
import { medianOf, ranStages, stageLabel } from './common.js';

/**
 * Scheduler delay against task duration.
 *
 * Finding: `scheduler-delay`.
 */
export const schedulerDelayHeuristic: Heuristic = {
  id: 'scheduler-delay',
  description:
    'Median scheduler delay against median task duration per stage, for stages where the delay adds up to real time.',
  evaluate(model, context) {
    const t = context.thresholds.schedulerDelay;
    const hits: {
      stage: StageData;
      severity: Severity;
      delayMs: number;
      durationMs: number;
      ratio: number;
    }[] = [];
    for (const stage of ranStages(model)) {
      const d = stage.taskMetricsDistributions;
      if (!d || stage.numCompleteTasks === 0) continue;
      const delayMs = medianOf(d, d.schedulerDelay);
      const durationMs = medianOf(d, d.duration);
      if (
        delayMs === undefined ||
        durationMs === undefined ||
        delayMs * stage.numCompleteTasks < t.minTotalDelayMs
      ) {
        continue;
      }
      const ratio = delayMs / Math.max(1, durationMs);
      const severity = severityOf(ratio, t.ratio);
      if (severity !== 'none') hits.push({ stage, severity, delayMs, durationMs, ratio });
    }
    if (hits.length === 0) return [];
    hits.sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) ||
        b.delayMs * b.stage.numCompleteTasks - a.delayMs * a.stage.numCompleteTasks,
    );
    const w = hits[0]!;
    let totalDelay = 0;
    for (const h of hits) totalDelay += h.delayMs * h.stage.numCompleteTasks;
    return [
      {
        id: 'scheduler-delay',
        title: 'High scheduler delay',
        severity: w.severity,
        summary: `${hits.length} stage${hits.length === 1 ? '' : 's'} lost time between the driver and the executors; in ${stageLabel(w.stage)} the median task waited ${formatMs(w.delayMs)} of its ${formatMs(w.durationMs)} (${formatRatio(w.ratio)}).`,
        evidence: {
          metrics: {
            medianSchedulerDelayMs: w.delayMs,
            medianTaskMs: w.durationMs,
            schedulerDelayRatio: w.ratio,
            estimatedDelayMs: totalDelay,
            stages: hits.length,
          },
          stageIds: [...new Set(hits.map((h) => h.stage.stageId))],
        },
        advice: [
          'Keep tasks small to ship: do not capture large objects in closures (broadcast them), and keep broadcast values small.',
          'Check the driver: a driver busy in GC or on a saturated CPU launches tasks and takes results late (see driver-gc).',
          'Large task results travel through the block manager and count as delay: aggregate before collecting.',
        ],
      },
    ];
  },
};
