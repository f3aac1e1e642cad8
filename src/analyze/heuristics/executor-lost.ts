/**
 * `executor-lost`: executors that went away while the application ran, for reasons other than memory
 * (those are `task-failures-memory-overhead`) or a deliberate release (dynamic allocation, decommissioning):
 * crashed JVMs, lost nodes, preemption. Counts executors named by lost tasks (`ExecutorLostFailure`) and
 * executors removed with such a reason.
 * @module
 */
import type { Heuristic } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { distinct, failureGroup, firstLine, removalKind, stageSucceeded, workersOf } from './common.js';

/**
 * Executors lost for reasons other than memory.
 *
 * Finding: `executor-lost`.
 */
export const executorLostHeuristic: Heuristic = {
  id: 'executor-lost',
  description:
    'Executors lost for reasons other than memory or a deliberate release (crashes, lost nodes, preemption), and the tasks lost with them.',
  evaluate(model, context) {
    const g = failureGroup(model, 'executor-lost');
    const removed = workersOf(model).filter((e) => removalKind(e) === 'lost');
    const executorIds = distinct([...g.executorIds, ...removed.map((e) => e.id)]);
    if (executorIds.length === 0) return [];
    let severity = severityOf(executorIds.length, context.thresholds.failures.executorsLost);
    if (g.stageIds.some((id) => !stageSucceeded(model, id))) severity = 'critical';
    if (severity === 'none') return [];
    const sample = g.sampleMessages[0] ?? removed[0]?.removeReason;
    return [
      {
        id: 'executor-lost',
        title: 'Executors lost',
        severity,
        summary: `${executorIds.length} executor${executorIds.length === 1 ? ' was' : 's were'} lost and ${g.count} task attempt${g.count === 1 ? '' : 's'} failed with them${sample ? `: ${firstLine(sample, 160)}` : ''}.`,
        evidence: {
          metrics: {
            executorsLost: executorIds.length,
            failedTasks: g.count,
            ...(sample ? { sampleMessage: firstLine(sample) } : {}),
          },
          stageIds: g.stageIds,
          executorIds,
        },
        advice: [
          "Read the executors' own logs and the cluster manager's (YARN NodeManager, Kubernetes pod events) for the exit status: it tells a JVM crash from a lost node or a preemption.",
          'If nodes are preempted or reclaimed (spot instances, YARN queue preemption), turn on graceful decommissioning (spark.decommission.enabled, spark.storage.decommission.enabled) so shuffle and cached blocks move before the executor goes.',
          'If the same host keeps losing executors, spark.excludeOnFailure.enabled keeps work off it.',
        ],
      },
    ];
  },
};
