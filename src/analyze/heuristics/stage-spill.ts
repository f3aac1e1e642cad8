/**
 * `stage-spill`: stages whose tasks ran out of execution memory and spilled to disk, measured as the bytes
 * spilled from memory over what the stage read (input plus shuffle read).
 * @module
 */
import type { StageData } from '../../model/stage.js';
import type { Heuristic, Severity } from '../analyzer.js';
import { maxSeverity, severityOf, severityRank } from '../analyzer.js';
import { formatBytes, formatSparkBytes, MIB } from '../units.js';
import { aqeEnabled, isLocalMode, ranStages, shufflePartitions, stageLabel } from './common.js';

/**
 * Memory and disk spill per stage.
 *
 * Finding: `stage-spill`.
 */
export const stageSpillHeuristic: Heuristic = {
  id: 'stage-spill',
  description:
    "Bytes spilled from memory per stage against the stage's input plus shuffle read; advises more partitions or more memory per task.",
  evaluate(model, context) {
    const t = context.thresholds.spill;
    let worst: StageData | undefined;
    let worstRatio = 0;
    let severity: Severity = 'none';
    let memorySpilled = 0;
    let diskSpilled = 0;
    const spilling: StageData[] = [];
    for (const s of ranStages(model)) {
      if (s.memoryBytesSpilled < t.minBytes) continue;
      const ratio = s.memoryBytesSpilled / Math.max(1, s.inputBytes + s.shuffleReadBytes);
      const sev = severityOf(ratio, t.ratio);
      if (sev === 'none') continue;
      spilling.push(s);
      memorySpilled += s.memoryBytesSpilled;
      diskSpilled += s.diskBytesSpilled;
      severity = maxSeverity(severity, sev);
      if (!worst || ratio > worstRatio) {
        worst = s;
        worstRatio = ratio;
      }
    }
    if (!worst) return [];

    const factor = Math.min(8, Math.max(2, Math.ceil(1 + worstRatio)));
    const properties: Record<string, string> = {};
    const advice: string[] = [];
    if (worst.shuffleReadBytes > 0) {
      if (worst.numTasks === shufflePartitions(context)) {
        const n = worst.numTasks * factor;
        properties['spark.sql.shuffle.partitions'] = String(n);
        advice.push(
          `Raise spark.sql.shuffle.partitions from ${worst.numTasks} to ${n} so each task sorts and aggregates ${factor}× less data.`,
        );
      } else if (aqeEnabled(model, context)) {
        const average = worst.shuffleReadBytes / Math.max(1, worst.numTasks);
        const size = Math.floor(average / factor / MIB) * MIB;
        if (size >= 8 * MIB) {
          properties['spark.sql.adaptive.advisoryPartitionSizeInBytes'] = formatSparkBytes(size);
          advice.push(
            `Adaptive execution merged the shuffle into ${worst.numTasks} partitions of ${formatBytes(average)} on average: lower spark.sql.adaptive.advisoryPartitionSizeInBytes (to ${formatSparkBytes(size)}) for smaller ones.`,
          );
        } else {
          advice.push(
            `The shuffle partitions are already small (${formatBytes(average)} on average): more memory per task is the lever, not more partitions.`,
          );
        }
      } else {
        advice.push(
          `Split ${stageLabel(worst)}'s shuffle into about ${worst.numTasks * factor} partitions (repartition, or the partition count of the operation that shuffles).`,
        );
      }
    }
    if (worst.inputBytes > 0 && worst.shuffleReadBytes === 0) {
      advice.push('Lower spark.sql.files.maxPartitionBytes so each task reads, and sorts, less input.');
    }
    advice.push(
      isLocalMode(model)
        ? 'Give the tasks more memory: raise spark.driver.memory (local mode) or spark.memory.fraction.'
        : 'Give each task more execution memory: raise spark.executor.memory, or lower spark.executor.cores so fewer tasks share it.',
    );
    if (severityRank(severity) >= severityRank('severe')) {
      advice.push(
        'Check the stage for skew (stage-skew): one oversized partition spills even when the others fit.',
      );
    }
    return [
      {
        id: 'stage-spill',
        title: 'Stages spilled to disk',
        severity,
        summary: `${spilling.length} stage${spilling.length === 1 ? '' : 's'} spilled ${formatBytes(memorySpilled)} from memory (${formatBytes(diskSpilled)} on disk); ${stageLabel(worst)} spilled ${formatBytes(worst.memoryBytesSpilled)} while reading ${formatBytes(worst.inputBytes + worst.shuffleReadBytes)}.`,
        evidence: {
          metrics: {
            memoryBytesSpilled: memorySpilled,
            diskBytesSpilled: diskSpilled,
            worstStageSpilledBytes: worst.memoryBytesSpilled,
            worstStageReadBytes: worst.inputBytes + worst.shuffleReadBytes,
            worstStageSpillRatio: worstRatio,
          },
          stageIds: [...new Set(spilling.map((s) => s.stageId))],
        },
        advice,
        properties,
      },
    ];
  },
};
