/**
 * `stage-skew`: stages whose longest task ran far longer than the median one (from the task-duration
 * quantiles), and whether the data explains it (the largest task's shuffle read or input against the
 * median). Judges only stages with enough tasks whose straggler cost real time. Needs
 * `taskMetricsDistributions`.
 * @module
 */
import type { StageData } from '../../model/stage.js';
import type { Heuristic, Severity } from '../analyzer.js';
import { severityOf, severityRank } from '../analyzer.js';
import { formatBytes, formatMs, formatSparkBytes, MIB, roundUpBytes } from '../units.js';
import { aqeEnabled, isLocalMode, maxOf, medianOf, ranStages, stageLabel } from './common.js';

interface Skewed {
  stage: StageData;
  severity: Severity;
  medianMs: number;
  maxMs: number;
  durationRatio: number;
  medianShuffleRead: number;
  maxShuffleRead: number;
  medianInput: number;
  maxInput: number;
  /** Largest over median bytes of the bigger of shuffle read and input, 0 when neither is large enough. */
  bytesRatio: number;
}

/**
 * Task-duration and data skew per stage.
 *
 * Finding: `stage-skew`.
 */
export const stageSkewHeuristic: Heuristic = {
  id: 'stage-skew',
  description:
    'Longest against median task duration per stage, and longest against median shuffle read and input bytes, from the task quantiles.',
  evaluate(model, context) {
    const t = context.thresholds.skew;
    const skewed: Skewed[] = [];
    for (const stage of ranStages(model)) {
      const d = stage.taskMetricsDistributions;
      if (!d || stage.numCompleteTasks < t.minTasks) continue;
      const medianMs = medianOf(d, d.duration);
      const maxMs = maxOf(d.duration);
      if (medianMs === undefined || maxMs === undefined || maxMs - medianMs < t.minExcessMs) continue;
      const durationRatio = maxMs / Math.max(1, medianMs);
      const severity = severityOf(durationRatio, t.durationRatio);
      if (severity === 'none') continue;
      const sr = d.shuffleReadMetrics.readBytes;
      const input = d.inputMetrics.bytesRead;
      const medianShuffleRead = medianOf(d, sr) ?? 0;
      const maxShuffleRead = maxOf(sr) ?? 0;
      const medianInput = medianOf(d, input) ?? 0;
      const maxInput = maxOf(input) ?? 0;
      let bytesRatio = 0;
      if (maxShuffleRead >= t.minBytes) bytesRatio = maxShuffleRead / Math.max(1, medianShuffleRead);
      if (maxInput >= t.minBytes) bytesRatio = Math.max(bytesRatio, maxInput / Math.max(1, medianInput));
      skewed.push({
        stage,
        severity,
        medianMs,
        maxMs,
        durationRatio,
        medianShuffleRead,
        maxShuffleRead,
        medianInput,
        maxInput,
        bytesRatio,
      });
    }
    if (skewed.length === 0) return [];
    skewed.sort(
      (a, b) =>
        severityRank(b.severity) - severityRank(a.severity) || b.maxMs - b.medianMs - (a.maxMs - a.medianMs),
    );
    const w = skewed[0]!;
    const dataSkew = w.bytesRatio >= t.bytesRatio[0];
    const byShuffle = w.maxShuffleRead >= w.maxInput;
    const advice: string[] = [];
    const properties: Record<string, string> = {};
    if (dataSkew && byShuffle) {
      if (!aqeEnabled(model, context)) {
        properties['spark.sql.adaptive.enabled'] = 'true';
        properties['spark.sql.adaptive.skewJoin.enabled'] = 'true';
        advice.push(
          'Turn on adaptive execution with skew-join handling: Spark then splits oversized join partitions.',
        );
      } else if (w.maxShuffleRead < 256 * MIB) {
        const threshold = roundUpBytes(w.maxShuffleRead / 2, MIB);
        properties['spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes'] =
          formatSparkBytes(threshold);
        advice.push(
          `Adaptive execution only splits partitions above spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes (256 MiB by default); the largest here read ${formatBytes(w.maxShuffleRead)}: lower it to ${formatSparkBytes(threshold)}.`,
        );
      }
      advice.push(
        'Spread the hot keys: salt them (add a random suffix and aggregate twice), filter or handle null and default keys apart, or broadcast the smaller side of the join.',
      );
    } else if (dataSkew) {
      advice.push(
        'Input splits are uneven: rewrite the input as evenly sized files in a splittable format (Parquet, ORC, or bzip2 rather than gzip text), or repartition right after reading.',
      );
    } else {
      advice.push(
        'The data does not explain the slow tasks: check the executors they ran on for GC, disk or network trouble, and the code for per-record work that varies (UDFs, external calls).',
      );
      if (context.property('spark.speculation') !== 'true' && !isLocalMode(model)) {
        properties['spark.speculation'] = 'true';
        advice.push('Turn on spark.speculation so Spark re-launches stragglers on other executors.');
      }
    }
    const largest = Math.max(w.maxShuffleRead, w.maxInput);
    const data = dataSkew
      ? ` Its largest task read ${formatBytes(byShuffle ? w.maxShuffleRead : w.maxInput)} of ${byShuffle ? 'shuffle data' : 'input'} against a median of ${formatBytes(byShuffle ? w.medianShuffleRead : w.medianInput)}.`
      : largest < t.minBytes
        ? ` No task read more than ${formatBytes(largest)}, so the data does not explain it.`
        : ' The tasks read similar amounts of data.';
    return [
      {
        id: 'stage-skew',
        title: 'Skewed tasks',
        severity: w.severity,
        summary: `In ${stageLabel(w.stage)} the longest task ran ${formatMs(w.maxMs)} against a median of ${formatMs(w.medianMs)} (${w.durationRatio.toFixed(1)}×).${data}`,
        evidence: {
          metrics: {
            medianTaskMs: w.medianMs,
            maxTaskMs: w.maxMs,
            durationRatio: w.durationRatio,
            medianShuffleReadBytes: w.medianShuffleRead,
            maxShuffleReadBytes: w.maxShuffleRead,
            medianInputBytes: w.medianInput,
            maxInputBytes: w.maxInput,
            bytesRatio: w.bytesRatio,
            skewedStages: skewed.length,
          },
          stageIds: [...new Set(skewed.map((s) => s.stage.stageId))],
        },
        advice,
        properties,
      },
    ];
  },
};
