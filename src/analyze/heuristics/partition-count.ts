/**
 * `partition-count`: stages cut into too many tiny tasks (`partition-count-too-many`: many tasks with a
 * median duration of milliseconds, where scheduling overhead dominates), or into too few
 * (`partition-count-too-few`: huge tasks, or fewer tasks than task slots while the tasks ran long). Suggests
 * a partition count, as `spark.sql.shuffle.partitions` when that setting made the stage's count.
 * @module
 */
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type { StageData } from '../../model/stage.js';
import type { Finding, Heuristic, HeuristicContext, Severity } from '../analyzer.js';
import { maxSeverity, severityOf, severityRank } from '../analyzer.js';
import { formatBytes, formatMs, formatRatio, formatSparkBytes, parseSparkBytes } from '../units.js';
import {
  capitalize,
  maxOf,
  medianOf,
  ranStages,
  shufflePartitions,
  slotsByStage,
  stageLabel,
} from './common.js';

function tooMany(
  model: ApplicationAttemptModel,
  context: HeuristicContext,
  slotsOf: (s: StageData) => number,
): Finding[] {
  const t = context.thresholds.partitions;
  let worst: { stage: StageData; severity: Severity; medianMs: number } | undefined;
  const stages: StageData[] = [];
  for (const stage of ranStages(model)) {
    const d = stage.taskMetricsDistributions;
    if (!d || stage.numCompleteTasks < t.minTinyTasks) continue;
    const medianMs = medianOf(d, d.duration);
    if (medianMs === undefined) continue;
    const severity = severityOf(medianMs, t.tinyTaskMs, true);
    if (severity === 'none') continue;
    stages.push(stage);
    if (
      !worst ||
      severityRank(severity) > severityRank(worst.severity) ||
      (severity === worst.severity && stage.numTasks > worst.stage.numTasks)
    ) {
      worst = { stage, severity, medianMs };
    }
  }
  if (!worst) return [];
  const s = worst.stage;
  const slots = slotsOf(s);
  const suggested = Math.max(slots, Math.ceil((s.numCompleteTasks * worst.medianMs) / t.targetTaskMs));
  const properties: Record<string, string> = {};
  const advice: string[] = [];
  if (s.shuffleReadBytes > 0 && s.numTasks === shufflePartitions(context)) {
    properties['spark.sql.shuffle.partitions'] = String(suggested);
    advice.push(
      `Lower spark.sql.shuffle.partitions from ${s.numTasks} to ${suggested}, or let adaptive execution coalesce partitions (spark.sql.adaptive.coalescePartitions.enabled).`,
    );
  } else if (s.inputBytes > 0) {
    advice.push(
      'The input is split into many small pieces: compact small files, or raise spark.sql.files.maxPartitionBytes, or lower spark.sql.files.openCostInBytes so more files go into each task.',
    );
  } else {
    advice.push(
      `Use about ${suggested} partitions where this stage's data is created (the numSlices of parallelize, repartition or coalesce).`,
    );
  }
  advice.push(
    'Each task costs scheduling, serialization and result handling: tasks should run for a second or more.',
  );
  const tiny = stages.reduce((n, x) => n + x.numCompleteTasks, 0);
  return [
    {
      id: 'partition-count-too-many',
      title: 'Too many tiny tasks',
      severity: worst.severity,
      summary: `${stages.length} stage${stages.length === 1 ? '' : 's'} ran ${tiny} tasks with median durations under ${formatMs(t.tinyTaskMs[0])}; ${stageLabel(s)} ran ${s.numCompleteTasks} tasks of ${formatMs(worst.medianMs)} (median) on ${slots} slots.`,
      evidence: {
        metrics: {
          medianTaskMs: worst.medianMs,
          tasks: s.numCompleteTasks,
          tinyTasks: tiny,
          slots,
          suggestedPartitions: suggested,
        },
        stageIds: [...new Set(stages.map((x) => x.stageId))],
      },
      advice,
      properties,
    },
  ];
}

function tooFew(
  model: ApplicationAttemptModel,
  context: HeuristicContext,
  slotsOf: (s: StageData) => number,
): Finding[] {
  const t = context.thresholds.partitions;
  let worst:
    | {
        stage: StageData;
        severity: Severity;
        bytesPerTask: number;
        slots: number;
        idle: number;
        maxMs: number;
      }
    | undefined;
  const stages: StageData[] = [];
  for (const stage of ranStages(model)) {
    if (stage.numTasks === 0 || stage.numCompleteTasks === 0) continue;
    const d = stage.taskMetricsDistributions;
    const bytesPerTask = d
      ? (medianOf(d, d.inputMetrics.bytesRead) ?? 0) + (medianOf(d, d.shuffleReadMetrics.readBytes) ?? 0)
      : (stage.inputBytes + stage.shuffleReadBytes) / stage.numCompleteTasks;
    const slots = slotsOf(stage);
    const maxMs = (d ? maxOf(d.duration) : undefined) ?? stage.executorRunTime / stage.numCompleteTasks;
    const idle = stage.numTasks < slots ? 1 - stage.numTasks / slots : 0;
    const severity = maxSeverity(
      severityOf(bytesPerTask, t.hugeTaskBytes),
      idle > 0 && maxMs >= t.longTaskMs ? severityOf(idle, t.idleSlotRatio) : 'none',
    );
    if (severity === 'none') continue;
    stages.push(stage);
    if (!worst || severityRank(severity) > severityRank(worst.severity)) {
      worst = { stage, severity, bytesPerTask, slots, idle, maxMs };
    }
  }
  if (!worst) return [];
  const s = worst.stage;
  const bytes = s.inputBytes + s.shuffleReadBytes;
  const suggested = Math.max(worst.slots, Math.ceil(bytes / t.targetPartitionBytes));
  const properties: Record<string, string> = {};
  const advice: string[] = [];
  const configured = shufflePartitions(context);
  if (s.shuffleReadBytes > 0 && s.numTasks === configured) {
    properties['spark.sql.shuffle.partitions'] = String(suggested);
    advice.push(
      `Raise spark.sql.shuffle.partitions from ${configured} to ${suggested} (about ${formatBytes(t.targetPartitionBytes)} per task).`,
    );
  } else if (s.shuffleReadBytes > 0) {
    advice.push(
      `${stageLabel(s)} had ${s.numTasks} tasks while spark.sql.shuffle.partitions is ${configured}: the count comes from the code (repartition, coalesce, or an RDD operation's numPartitions). Use about ${suggested}.`,
    );
  } else if (s.inputBytes > 0) {
    const split = parseSparkBytes(context.property('spark.sql.files.maxPartitionBytes'), 'b');
    if (split !== undefined && split > t.targetPartitionBytes) {
      properties['spark.sql.files.maxPartitionBytes'] = formatSparkBytes(t.targetPartitionBytes);
      advice.push(
        `Lower spark.sql.files.maxPartitionBytes from ${formatBytes(split)} to ${formatSparkBytes(t.targetPartitionBytes)} for about ${suggested} input tasks.`,
      );
    } else {
      advice.push(
        `Each task read ${formatBytes(worst.bytesPerTask)} of input: files that cannot be split (gzip, one big file per partition) make one task each. Store the data splittable, or repartition to about ${suggested} right after reading.`,
      );
    }
  } else {
    advice.push(
      `Use about ${worst.slots} or more partitions where this stage's data is created, so every task slot has work.`,
    );
  }
  const parts: string[] = [];
  if (worst.bytesPerTask >= t.hugeTaskBytes[0])
    parts.push(`its median task read ${formatBytes(worst.bytesPerTask)}`);
  if (worst.idle > 0 && worst.maxMs >= t.longTaskMs) {
    parts.push(
      `its ${s.numTasks} task${s.numTasks === 1 ? '' : 's'} left ${formatRatio(worst.idle)} of ${worst.slots} slots idle for up to ${formatMs(worst.maxMs)}`,
    );
  }
  return [
    {
      id: 'partition-count-too-few',
      title: 'Too few partitions',
      severity: worst.severity,
      summary: `${capitalize(stageLabel(s))} was cut too coarsely: ${parts.join(', and ')}.`,
      evidence: {
        metrics: {
          tasks: s.numTasks,
          slots: worst.slots,
          bytesPerTask: worst.bytesPerTask,
          idleSlotRatio: worst.idle,
          maxTaskMs: worst.maxMs,
          suggestedPartitions: suggested,
        },
        stageIds: [...new Set(stages.map((x) => x.stageId))],
      },
      advice,
      properties,
    },
  ];
}

/**
 * Stages with too many tiny tasks or too few large ones.
 *
 * Findings: `partition-count-too-many`, `partition-count-too-few`.
 */
export const partitionCountHeuristic: Heuristic = {
  id: 'partition-count',
  description:
    'Stages with many tasks of a few milliseconds, or with huge tasks or fewer tasks than slots; suggests a partition count.',
  evaluate(model, context) {
    if (!model.stages.some((s) => s.numCompleteTasks > 0)) return [];
    const slotsOf = slotsByStage(model);
    return [...tooMany(model, context, slotsOf), ...tooFew(model, context, slotsOf)];
  },
};
