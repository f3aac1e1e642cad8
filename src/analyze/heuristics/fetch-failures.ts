/**
 * `fetch-failures`: task attempts that could not fetch shuffle blocks (`FetchFailed`), which make Spark
 * re-run the stage that wrote them.
 * @module
 */
import type { Heuristic } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { failureGroup, failureKind, firstLine, removalKind, stageSucceeded } from './common.js';

/**
 * Shuffle fetch failures.
 *
 * Finding: `fetch-failures`.
 */
export const fetchFailuresHeuristic: Heuristic = {
  id: 'fetch-failures',
  description: 'Task attempts that failed to fetch shuffle blocks (FetchFailed), which re-run the map stage.',
  evaluate(model, context) {
    const g = failureGroup(model, 'fetch');
    if (g.count === 0) return [];
    let severity = severityOf(g.count, context.thresholds.failures.fetchFailures);
    if (g.stageIds.some((id) => !stageSucceeded(model, id))) severity = 'critical';
    if (severity === 'none') return [];
    const lost =
      model.failures.some((f) => {
        const k = failureKind(f);
        return k === 'executor-lost' || k === 'memory-kill';
      }) || model.executors.some((e) => removalKind(e) !== undefined);
    const advice: string[] = [];
    if (lost) {
      advice.push(
        'Executors were lost in this run, taking their shuffle output with them: fix what killed them first (executor-lost, task-failures-memory-overhead).',
      );
    }
    if (context.property('spark.shuffle.service.enabled') !== 'true') {
      advice.push(
        'With the external shuffle service (spark.shuffle.service.enabled) shuffle files outlive their executor.',
      );
    }
    advice.push(
      'Serving executors that are busy in GC or overloaded time out: retry longer (spark.shuffle.io.maxRetries, spark.shuffle.io.retryWait) and use more shuffle partitions so blocks are smaller.',
    );
    return [
      {
        id: 'fetch-failures',
        title: 'Shuffle fetch failures',
        severity,
        summary: `${g.count} task attempt${g.count === 1 ? '' : 's'} failed to fetch shuffle blocks${g.sampleMessages[0] ? `: ${firstLine(g.sampleMessages[0], 160)}` : ''}.`,
        evidence: {
          metrics: {
            fetchFailures: g.count,
            ...(g.sampleMessages[0] ? { sampleMessage: firstLine(g.sampleMessages[0]) } : {}),
          },
          stageIds: g.stageIds,
          executorIds: g.executorIds,
        },
        advice,
        properties: { 'spark.shuffle.io.maxRetries': '10', 'spark.shuffle.io.retryWait': '15s' },
      },
    ];
  },
};
