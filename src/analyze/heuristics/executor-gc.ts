/**
 * `executor-gc`: the share of executor run time spent in JVM garbage collection, over all stages, with the
 * stages and executors where it was worst.
 * @module
 */
import type { Heuristic, Severity } from '../analyzer.js';
import { severityOf, severityRank } from '../analyzer.js';
import { formatMs, formatRatio, formatSparkBytes, MIB, roundUpBytes } from '../units.js';
import {
  driverMemoryBytes,
  executorMemoryConfig,
  isLocalMode,
  ranStages,
  stageLabel,
  workersOf,
} from './common.js';

/**
 * JVM GC time over executor run time.
 *
 * Finding: `executor-gc`.
 */
export const executorGcHeuristic: Heuristic = {
  id: 'executor-gc',
  description: 'JVM garbage collection time over executor run time, over all stages and per executor.',
  evaluate(model, context) {
    const t = context.thresholds.gc;
    const stages = ranStages(model);
    let gc = 0;
    let run = 0;
    for (const s of stages) {
      gc += s.jvmGcTime;
      run += s.executorRunTime;
    }
    if (run < t.minRunTimeMs || run <= 0) return [];
    const ratio = gc / run;
    let severity: Severity = severityOf(ratio, t.ratio);

    const hot = workersOf(model)
      .filter((e) => e.totalDuration >= t.minExecutorTimeMs && e.totalGCTime / e.totalDuration >= t.ratio[0])
      .sort((a, b) => b.totalGCTime / b.totalDuration - a.totalGCTime / a.totalDuration);
    if (severity === 'none' && hot.length === 0) return [];
    if (severity === 'none') severity = 'low';

    const hotStages = stages
      .filter((s) => s.executorRunTime > 0 && s.jvmGcTime / s.executorRunTime >= t.ratio[0])
      .sort((a, b) => b.jvmGcTime - a.jvmGcTime)
      .slice(0, 5);
    const worst = hot[0];
    const local = isLocalMode(model);
    const heap = local ? driverMemoryBytes(context) : executorMemoryConfig(context).heapBytes;
    const key = local ? 'spark.driver.memory' : 'spark.executor.memory';
    const properties: Record<string, string> = {};
    if (severityRank(severity) >= severityRank('moderate')) {
      properties[key] = formatSparkBytes(roundUpBytes(heap * 1.5, 512 * MIB));
    }
    const advice = [
      `Give each task more heap: raise ${key} (to ${formatSparkBytes(roundUpBytes(heap * 1.5, 512 * MIB))})${local ? '' : ' or lower spark.executor.cores'}.`,
      'Cache less, or cache serialized (MEMORY_AND_DISK_SER) so the heap holds fewer long-lived objects; unpersist what is no longer used.',
    ];
    if ((model.environment.runtime.javaVersion ?? '').startsWith('1.8')) {
      advice.push(
        'On Java 8 the default collector is Parallel GC: add -XX:+UseG1GC to spark.executor.extraJavaOptions.',
      );
    }
    const summary =
      ratio >= t.ratio[0]
        ? `Tasks spent ${formatMs(gc)} of ${formatMs(run)} run time in GC (${formatRatio(ratio)}).`
        : `GC took ${formatRatio(ratio)} of run time overall, but ${hot.length} executor${hot.length === 1 ? '' : 's'} spent more (executor ${worst!.id}: ${formatRatio(worst!.totalGCTime / worst!.totalDuration)}).`;
    return [
      {
        id: 'executor-gc',
        title: 'High JVM garbage collection',
        severity,
        summary,
        evidence: {
          metrics: {
            gcTimeMs: gc,
            runTimeMs: run,
            gcRatio: ratio,
            ...(worst ? { worstExecutorGcRatio: worst.totalGCTime / worst.totalDuration } : {}),
          },
          stageIds: [...new Set(hotStages.map((s) => s.stageId))],
          executorIds: hot.map((e) => e.id),
        },
        advice: [
          ...advice,
          ...(hotStages.length > 0
            ? [`Start with ${hotStages.map((s) => stageLabel(s)).join(', ')}, where GC took the most time.`]
            : []),
        ],
        properties,
      },
    ];
  },
};
