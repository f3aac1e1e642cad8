/**
 * `task-failures`: failed task attempts by cause, from the model's failure summaries. Tasks that ran out
 * of memory (`task-failures-oom`), containers killed for exceeding their memory (`task-failures-memory-overhead`,
 * also counting executors removed for it), and every other failure (`task-failures`). Fetch failures and
 * lost executors have their own heuristics. Killed tasks (speculation, cancelled stages) are not failures.
 * @module
 */
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type { Finding, Heuristic, HeuristicContext, Severity } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { formatBytes, formatRatio, formatSparkBytes, MIB, parseSparkBytes, roundUpBytes } from '../units.js';
import {
  capSeverity,
  distinct,
  driverMemoryBytes,
  executorMemoryConfig,
  failureGroup,
  firstLine,
  isLocalMode,
  isPythonApp,
  removalKind,
  stageSucceeded,
  taskAttempts,
  workersOf,
} from './common.js';

/** `critical` when a stage of the failures never succeeded (the job failed on them), else `s`. */
function escalate(model: ApplicationAttemptModel, stageIds: readonly number[], s: Severity): Severity {
  return stageIds.some((id) => !stageSucceeded(model, id)) ? 'critical' : s;
}

function oomFinding(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  const g = failureGroup(model, 'oom');
  if (g.count === 0) return [];
  const severity = escalate(model, g.stageIds, severityOf(g.count, context.thresholds.failures.oomTasks));
  if (severity === 'none') return [];
  const text = g.causes.map(([c]) => c).join(' ') + g.sampleMessages.join(' ');
  const gpu = /rapids|GPU/i.test(text);
  const python = /\bMemoryError\b/.test(g.sampleMessages.join(' ')) && !/OutOfMemoryError/.test(text);
  const advice: string[] = [];
  const properties: Record<string, string> = {};
  if (gpu) {
    const concurrent = Number(context.property('spark.rapids.sql.concurrentGpuTasks'));
    if (concurrent > 1) properties['spark.rapids.sql.concurrentGpuTasks'] = String(concurrent - 1);
    advice.push(
      'The GPU ran out of memory: run fewer tasks on it at once (spark.rapids.sql.concurrentGpuTasks) and make batches smaller (spark.rapids.sql.batchSizeBytes).',
    );
    const split = parseSparkBytes(context.property('spark.sql.files.maxPartitionBytes'), 'b');
    if (split !== undefined && split > 256 * MIB) {
      properties['spark.sql.files.maxPartitionBytes'] = formatSparkBytes(roundUpBytes(split / 2, MIB));
      advice.push(
        `Read smaller splits: spark.sql.files.maxPartitionBytes is ${formatBytes(split)}; halve it to ${formatSparkBytes(roundUpBytes(split / 2, MIB))}.`,
      );
    }
  } else if (python) {
    const mem = executorMemoryConfig(context);
    const py = roundUpBytes(Math.max(mem.pysparkBytes * 1.5, 512 * MIB), 128 * MIB);
    properties['spark.executor.pyspark.memory'] = formatSparkBytes(py);
    advice.push(
      `Python workers ran out of memory: set spark.executor.pyspark.memory (to ${formatSparkBytes(py)}), and process partitions as iterators rather than lists.`,
    );
  } else {
    const local = isLocalMode(model);
    const key = local ? 'spark.driver.memory' : 'spark.executor.memory';
    const heap = local ? driverMemoryBytes(context) : executorMemoryConfig(context).heapBytes;
    const next = roundUpBytes(heap * 1.5, 512 * MIB);
    properties[key] = formatSparkBytes(next);
    advice.push(
      `Give each task more heap: raise ${key} from ${formatBytes(heap)} to ${formatSparkBytes(next)}${local ? '' : ', or lower spark.executor.cores so fewer tasks share it'}.`,
    );
  }
  advice.push(
    'Make partitions smaller (more shuffle partitions, smaller input splits), and avoid collecting whole groups into one row (groupByKey, collect_list over hot keys).',
  );
  return [
    {
      id: 'task-failures-oom',
      title: 'Tasks ran out of memory',
      severity,
      summary: `${g.count} task attempt${g.count === 1 ? '' : 's'} failed with ${g.causes.map(([c, n]) => `${c} (${n})`).join(', ')}${g.sampleMessages[0] ? `: ${firstLine(g.sampleMessages[0], 160)}` : ''}.`,
      evidence: {
        metrics: {
          oomTasks: g.count,
          ...(g.sampleMessages[0] ? { sampleMessage: firstLine(g.sampleMessages[0]) } : {}),
        },
        stageIds: g.stageIds,
        executorIds: g.executorIds,
      },
      advice,
      properties,
    },
  ];
}

function memoryKillFinding(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  const g = failureGroup(model, 'memory-kill');
  const killed = workersOf(model).filter((e) => removalKind(e) === 'memory-kill');
  const extra = killed.filter((e) => !g.executorIds.includes(e.id));
  const count = g.count + extra.length;
  if (count === 0) return [];
  const severity = escalate(model, g.stageIds, severityOf(count, context.thresholds.failures.memoryKills));
  if (severity === 'none') return [];
  const mem = executorMemoryConfig(context);
  const overhead = roundUpBytes(Math.max(mem.overheadBytes * 1.5, mem.heapBytes * 0.2), 128 * MIB);
  const advice = [
    `Raise spark.executor.memoryOverhead from ${formatBytes(mem.overheadBytes)}${mem.overheadSet ? '' : ' (the default)'} to ${formatSparkBytes(overhead)}: the container holds the heap plus the overhead, and off-heap buffers, thread stacks, Python workers and native libraries all live in the overhead.`,
  ];
  if (isPythonApp(model, context)) {
    advice.push(
      'This is a PySpark application: its Python workers count against the container. Set spark.executor.pyspark.memory to cap them, or give the overhead room for them.',
    );
  }
  advice.push('Lower spark.executor.cores so fewer tasks (and Python workers) share one container.');
  const sample = g.sampleMessages[0] ?? killed[0]?.removeReason;
  return [
    {
      id: 'task-failures-memory-overhead',
      title: 'Containers killed for exceeding memory',
      severity,
      summary: `${g.count} task attempt${g.count === 1 ? '' : 's'} failed and ${killed.length} executor${killed.length === 1 ? ' was' : 's were'} removed because containers exceeded their memory limit (${formatBytes(mem.containerBytes)} each)${sample ? `: ${firstLine(sample, 160)}` : ''}.`,
      evidence: {
        metrics: {
          failedTasks: g.count,
          executorsKilled: killed.length,
          containerBytes: mem.containerBytes,
          memoryOverheadBytes: mem.overheadBytes,
          ...(sample ? { sampleMessage: firstLine(sample) } : {}),
        },
        stageIds: g.stageIds,
        executorIds: distinct([...g.executorIds, ...killed.map((e) => e.id)]),
      },
      advice,
      properties: { 'spark.executor.memoryOverhead': formatSparkBytes(overhead) },
    },
  ];
}

function otherFinding(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  const g = failureGroup(model, 'other');
  if (g.count === 0) return [];
  const attempts = Math.max(g.count, taskAttempts(model));
  const ratio = g.count / attempts;
  const recovered = g.stageIds.every((id) => stageSucceeded(model, id));
  // Failures that retries absorbed cost time, not the run: never critical.
  let severity = severityOf(ratio, context.thresholds.failures.failedTaskRatio);
  if (recovered) severity = capSeverity(severity, 'severe');
  if (severity === 'none') return [];
  const [topCause, topCount] = g.causes[0]!;
  return [
    {
      id: 'task-failures',
      title: 'Failed tasks',
      severity,
      summary: `${g.count} of ${attempts} task attempts failed (${formatRatio(ratio)}), most with ${topCause} (${topCount})${g.sampleMessages[0] ? `: ${firstLine(g.sampleMessages[0], 160)}` : ''}.`,
      evidence: {
        metrics: {
          failedTasks: g.count,
          taskAttempts: attempts,
          failedTaskRatio: ratio,
          topCause,
          topCauseCount: topCount,
          ...(g.sampleMessages[0] ? { sampleMessage: firstLine(g.sampleMessages[0]) } : {}),
        },
        stageIds: g.stageIds,
        executorIds: g.executorIds,
      },
      advice: recovered
        ? [
            'Every stage succeeded on retry: the failures cost time, not results. Look for flaky inputs, external services or bad nodes in the messages.',
            'If one node keeps failing tasks, turn on spark.excludeOnFailure.enabled so Spark stops scheduling on it.',
          ]
        : [
            `Fix the cause in the code or the data: ${topCause} made ${g.stageIds.filter((id) => !stageSucceeded(model, id)).length} stage(s) fail for good, and retrying spends spark.task.maxFailures attempts on each task first.`,
          ],
    },
  ];
}

/**
 * Failed task attempts by cause.
 *
 * Findings: `task-failures-oom`, `task-failures-memory-overhead`, `task-failures`.
 */
export const taskFailuresHeuristic: Heuristic = {
  id: 'task-failures',
  description:
    'Failed task attempts by cause: out of memory, containers killed for exceeding memory, and all other exceptions.',
  evaluate(model, context) {
    if (model.failures.length === 0 && !model.executors.some((e) => e.removeReason)) return [];
    return [
      ...oomFinding(model, context),
      ...memoryKillFinding(model, context),
      ...otherFinding(model, context),
    ];
  },
};
