/**
 * `small-files`: input stages whose tasks each read far less than the split size Spark aims at
 * (`min(spark.sql.files.maxPartitionBytes, max(spark.sql.files.openCostInBytes, input / slots))`, the way
 * Spark sizes file splits, and at most `referenceSplitBytes`), the mark of many small files or an input
 * format Spark cannot pack.
 * @module
 */
import type { StageData } from '../../model/stage.js';
import type { Heuristic, Severity } from '../analyzer.js';
import { severityOf, severityRank } from '../analyzer.js';
import { formatBytes, formatRatio, MIB, parseSparkBytes } from '../units.js';
import { capitalize, medianOf, ranStages, slotsByStage, stageLabel } from './common.js';

/**
 * Tiny input splits.
 *
 * Finding: `small-files`.
 */
export const smallFilesHeuristic: Heuristic = {
  id: 'small-files',
  description:
    'Median input bytes per task against the split size Spark aims at (spark.sql.files.maxPartitionBytes, or the input spread over the slots): many small files.',
  evaluate(model, context) {
    const t = context.thresholds.smallFiles;
    const candidates = ranStages(model).filter(
      (s) => s.status === 'COMPLETE' && s.inputBytes >= t.minInputBytes && s.numCompleteTasks >= t.minTasks,
    );
    if (candidates.length === 0) return [];
    const maxSplit = parseSparkBytes(context.property('spark.sql.files.maxPartitionBytes'), 'b') ?? 128 * MIB;
    const openCost = parseSparkBytes(context.property('spark.sql.files.openCostInBytes'), 'b') ?? 4 * MIB;
    const slotsOf = slotsByStage(model);
    let worst:
      | { stage: StageData; severity: Severity; median: number; expected: number; ratio: number }
      | undefined;
    const stageIds: number[] = [];
    for (const stage of candidates) {
      const d = stage.taskMetricsDistributions;
      const median =
        (d ? medianOf(d, d.inputMetrics.bytesRead) : undefined) ?? stage.inputBytes / stage.numCompleteTasks;
      const expected = Math.min(
        maxSplit,
        t.referenceSplitBytes,
        Math.max(openCost, stage.inputBytes / Math.max(1, slotsOf(stage))),
      );
      if (median <= 0) continue;
      const ratio = median / expected;
      const severity = severityOf(ratio, t.ratio, true);
      if (severity === 'none') continue;
      stageIds.push(stage.stageId);
      if (
        !worst ||
        severityRank(severity) > severityRank(worst.severity) ||
        (severity === worst.severity && ratio < worst.ratio)
      ) {
        worst = { stage, severity, median, expected, ratio };
      }
    }
    if (!worst) return [];
    const s = worst.stage;
    const sql = model.jobs.some((j) => j.sqlExecutionId !== undefined && s.jobIds.includes(j.jobId));
    return [
      {
        id: 'small-files',
        title: 'Input split into tiny pieces',
        severity: worst.severity,
        summary: `${capitalize(stageLabel(s))} read ${formatBytes(s.inputBytes)} in ${s.numCompleteTasks} tasks of ${formatBytes(worst.median)} (median), ${formatRatio(worst.ratio)} of the ${formatBytes(worst.expected)} split Spark aims at: many small files.`,
        evidence: {
          metrics: {
            inputBytes: s.inputBytes,
            tasks: s.numCompleteTasks,
            medianInputBytes: worst.median,
            expectedSplitBytes: worst.expected,
            splitRatio: worst.ratio,
          },
          stageIds: [...new Set(stageIds)],
        },
        advice: [
          "Compact the input into fewer, larger files (128 MiB to 1 GiB each): have the writer coalesce or repartition before writing, or run the table format's compaction.",
          sql
            ? `Lower spark.sql.files.openCostInBytes (now ${formatBytes(openCost)}) so Spark packs more small files into each task.`
            : 'Outside Spark SQL each file becomes a task: coalesce right after reading, or read with a combining input format.',
        ],
        ...(sql ? { properties: { 'spark.sql.files.openCostInBytes': '1m' } } : {}),
      },
    ];
  },
};
