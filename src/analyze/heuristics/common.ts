/**
 * What the built-in heuristics share: the executors' configured memory, task-failure classes, quantile
 * look-ups, and which application is PySpark or uses AQE. Not exported from the package.
 * @module
 */
import { type ApplicationAttemptModel, sparkVersionOf } from '../../model/attempt.js';
import type { ExecutorSummary } from '../../model/executor.js';
import type { FailureSummary } from '../../model/failures.js';
import type { StageData, TaskMetricDistributions } from '../../model/stage.js';
import { type HeuristicContext, type Severity, severityRank } from '../analyzer.js';
import { maxConcurrentSlots, quantileAt, slotSpans, slotsDuring, stageSpans } from '../timeline.js';
import { MIB, parseSparkBytes } from '../units.js';

/** `s`, or `cap` when `s` is worse. */
export function capSeverity(s: Severity, cap: Severity): Severity {
  return severityRank(s) > severityRank(cap) ? cap : s;
}

/** The median of a distribution row: the value at quantile 0.5 (interpolated when 0.5 is not a quantile). */
export function medianOf(d: TaskMetricDistributions, values: readonly number[]): number | undefined {
  if (values.length === 0 || values.length !== d.quantiles.length) return undefined;
  const i = d.quantiles.indexOf(0.5);
  return i >= 0 ? values[i] : quantileAt(d.quantiles, values, 0.5);
}

/** The largest value of a distribution row (its last element, quantile 1.0). */
export function maxOf(values: readonly number[]): number | undefined {
  return values.length > 0 ? values[values.length - 1] : undefined;
}

/** Executors other than the driver. */
export function workersOf(model: ApplicationAttemptModel): ExecutorSummary[] {
  return model.executors.filter((e) => e.id !== 'driver');
}

/** The driver, when the log lists it. */
export function driverOf(model: ApplicationAttemptModel): ExecutorSummary | undefined {
  return model.executors.find((e) => e.id === 'driver');
}

/** Whether the driver ran the tasks (local mode: no executor besides the driver). */
export function isLocalMode(model: ApplicationAttemptModel): boolean {
  return workersOf(model).length === 0;
}

/** Stage attempts that ran (neither skipped nor pending). */
export function ranStages(model: ApplicationAttemptModel): StageData[] {
  return model.stages.filter((s) => s.status !== 'SKIPPED' && s.status !== 'PENDING');
}

/** `stage 7` or `stage 7 (attempt 1)`. */
export function stageLabel(s: StageData): string {
  return s.attemptId > 0 ? `stage ${s.stageId} (attempt ${s.attemptId})` : `stage ${s.stageId}`;
}

/** Task slots alive while each stage ran (all slots when the stage's times are unknown). */
export function slotsByStage(model: ApplicationAttemptModel): (s: StageData) => number {
  const slots = slotSpans(model);
  const max = maxConcurrentSlots(slots);
  const during = new Map<StageData, number>();
  for (const span of stageSpans(model))
    during.set(span.stage, slotsDuring(slots, span.start, span.end) || max);
  return (s) => during.get(s) ?? max;
}

/** `text` with its first letter in upper case. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Sorted distinct values. */
export function distinct<T extends number | string>(values: Iterable<T>): T[] {
  return [...new Set(values)].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number'
      ? a - b
      : String(a).localeCompare(String(b), 'en', { numeric: true }),
  );
}

/** How an executor's container is sized, from its Spark properties and Spark's defaults. */
export interface ExecutorMemoryConfig {
  /** `spark.executor.memory` (default 1 GiB). */
  heapBytes: number;
  /** `spark.executor.memoryOverhead`, else `max(384 MiB, factor × heap)`. */
  overheadBytes: number;
  /** Whether the overhead was set explicitly. */
  overheadSet: boolean;
  /** `spark.executor.pyspark.memory`, 0 when unset. */
  pysparkBytes: number;
  /** `spark.memory.offHeap.size` when off-heap memory is enabled, else 0. */
  offHeapBytes: number;
  /** What the cluster manager gives the executor: the sum of the above. */
  containerBytes: number;
}

/** The executors' memory configuration. */
export function executorMemoryConfig(context: HeuristicContext): ExecutorMemoryConfig {
  const p = (k: string) => context.property(k);
  const heapBytes = parseSparkBytes(p('spark.executor.memory'), 'm') ?? 1024 * MIB;
  const overheadProp = parseSparkBytes(
    p('spark.executor.memoryOverhead') ??
      p('spark.yarn.executor.memoryOverhead') ??
      p('spark.kubernetes.memoryOverhead'),
    'm',
  );
  const factor =
    Number(p('spark.executor.memoryOverheadFactor') ?? p('spark.kubernetes.memoryOverheadFactor')) || 0.1;
  const minOverhead = parseSparkBytes(p('spark.executor.minMemoryOverhead'), 'm') ?? 384 * MIB;
  const overheadBytes = overheadProp ?? Math.max(minOverhead, Math.ceil(heapBytes * factor));
  const pysparkBytes = parseSparkBytes(p('spark.executor.pyspark.memory'), 'm') ?? 0;
  const offHeapBytes =
    p('spark.memory.offHeap.enabled') === 'true'
      ? (parseSparkBytes(p('spark.memory.offHeap.size'), 'b') ?? 0)
      : 0;
  return {
    heapBytes,
    overheadBytes,
    overheadSet: overheadProp !== undefined,
    pysparkBytes,
    offHeapBytes,
    containerBytes: heapBytes + overheadBytes + pysparkBytes + offHeapBytes,
  };
}

/** `spark.driver.memory` (default 1 GiB). */
export function driverMemoryBytes(context: HeuristicContext): number {
  return parseSparkBytes(context.property('spark.driver.memory'), 'm') ?? 1024 * MIB;
}

/** Peak resident memory of an executor's process tree (JVM, Python workers, other children), 0 when unknown. */
export function peakRss(e: ExecutorSummary): number {
  const m = e.peakMemoryMetrics;
  if (!m) return 0;
  return (
    (m.ProcessTreeJVMRSSMemory ?? 0) +
    (m.ProcessTreePythonRSSMemory ?? 0) +
    (m.ProcessTreeOtherRSSMemory ?? 0)
  );
}

/** GC time over task time of the executors that ran tasks (0 when none did). */
export function executorGcRatio(executors: readonly ExecutorSummary[]): number {
  let gc = 0;
  let time = 0;
  for (const e of executors) {
    gc += e.totalGCTime;
    time += e.totalDuration;
  }
  return time > 0 ? gc / time : 0;
}

/** The Spark version as `[major, minor]`, or `undefined` when the log does not say. */
export function sparkVersion(model: ApplicationAttemptModel): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(sparkVersionOf(model));
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Whether the version is at least `major.minor`; `undefined` when unknown. */
export function versionAtLeast(
  model: ApplicationAttemptModel,
  major: number,
  minor: number,
): boolean | undefined {
  const v = sparkVersion(model);
  if (!v) return undefined;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** Whether adaptive query execution was on (explicitly, or by default from Spark 3.2). */
export function aqeEnabled(model: ApplicationAttemptModel, context: HeuristicContext): boolean {
  const v = context.property('spark.sql.adaptive.enabled');
  if (v !== undefined) return v.trim().toLowerCase() === 'true';
  return versionAtLeast(model, 3, 2) === true;
}

/** `spark.sql.shuffle.partitions` (default 200). */
export function shufflePartitions(context: HeuristicContext): number {
  const n = Number(context.property('spark.sql.shuffle.partitions'));
  return Number.isInteger(n) && n > 0 ? n : 200;
}

/** Whether the application runs Python (PySpark): from its properties, command line, metrics or failures. */
export function isPythonApp(model: ApplicationAttemptModel, context: HeuristicContext): boolean {
  if (context.property('spark.yarn.isPython') === 'true') return true;
  if (context.property('spark.pyspark.python') || context.property('spark.pyspark.driver.python'))
    return true;
  const cmd = model.environment.systemProperties.find(([k]) => k === 'sun.java.command')?.[1] ?? '';
  if (/PythonRunner|pyspark-shell|\.py(\s|$)/.test(cmd)) return true;
  for (const e of model.executors)
    if ((e.peakMemoryMetrics?.ProcessTreePythonRSSMemory ?? 0) > 0) return true;
  for (const f of model.failures) if (f.className?.includes('PythonException')) return true;
  for (const s of model.stages) if (s.details.includes('org.apache.spark.api.python.')) return true;
  return false;
}

/**
 * Whether Python worker processes ran on the executors (RDD operations or Python UDFs), rather than Python
 * only driving the JVM: from Python RSS, Python exceptions, PythonRDD stages or Python nodes in SQL plans.
 */
export function usesPythonWorkers(model: ApplicationAttemptModel): boolean {
  for (const e of model.executors)
    if ((e.peakMemoryMetrics?.ProcessTreePythonRSSMemory ?? 0) > 0) return true;
  for (const f of model.failures) if (f.className?.includes('PythonException')) return true;
  for (const s of model.stages) if (s.details.includes('org.apache.spark.api.python.')) return true;
  for (const q of model.sql)
    if (/EvalPython|InPandas|InArrow|PythonUDF|FlatMapCoGroupsIn/.test(q.planDescription)) return true;
  return false;
}

/** What a group of task failures says about the run. */
export type FailureKind = 'oom' | 'memory-kill' | 'fetch' | 'executor-lost' | 'other' | 'ignored';

const OOM_MESSAGE =
  /OutOfMemoryError|GPU OutOfMemory|Java heap space|GC overhead limit exceeded|Unable to acquire \d+ bytes of memory|\bMemoryError\b/;
const OOM_CLASS = /OutOfMemory|OOM$/;
/** Messages of a container killed by its cluster manager for using too much memory. */
export const MEMORY_KILL =
  /exceed(?:ing|s|ed)? (?:the )?(?:physical |virtual )?memory limits?|beyond (?:the )?(?:physical|virtual) memory limit|OOMKilled|exit (?:code|status)\D{0,3}137\b|exit code is 137|OOM killer|possible container OOM/i;
/** Exit code 143 (SIGTERM) on a lost task's executor: YARN's kill for memory, among others. */
const SIGTERM = /exit (?:code|status)\D{0,3}143\b|exit code is 143/i;
/** Removal reasons of executors that were let go on purpose. */
const NORMAL_REMOVAL =
  /killed by driver|explicit termination request|decommission|requested by (?:the )?driver|idle/i;

/** The kind of a group of task failures. */
export function failureKind(f: FailureSummary): FailureKind {
  const text = f.sampleMessages.join('\n');
  switch (f.reason) {
    case 'FetchFailed':
      return 'fetch';
    case 'ExecutorLostFailure':
      return MEMORY_KILL.test(text) || SIGTERM.test(text) ? 'memory-kill' : 'executor-lost';
    case 'TaskKilled':
    case 'Resubmitted':
    case 'TaskCommitDenied':
      return 'ignored';
    default:
      if (OOM_CLASS.test(f.className ?? '') || OOM_MESSAGE.test(text)) return 'oom';
      if (MEMORY_KILL.test(text)) return 'memory-kill';
      return 'other';
  }
}

/** Why an executor was removed, when that was not on purpose: `memory-kill`, `lost`, or `undefined`. */
export function removalKind(e: ExecutorSummary): 'memory-kill' | 'lost' | undefined {
  const reason = e.removeReason;
  if (!reason) return undefined;
  if (MEMORY_KILL.test(reason)) return 'memory-kill';
  return NORMAL_REMOVAL.test(reason) ? undefined : 'lost';
}

/** Failure summaries of one kind, added up. */
export interface FailureGroup {
  count: number;
  stageIds: number[];
  executorIds: string[];
  /** Exception classes (or reasons) with their counts, most frequent first. */
  causes: [string, number][];
  sampleMessages: string[];
}

/** The failure summaries of a kind, added up. */
export function failureGroup(model: ApplicationAttemptModel, kind: FailureKind): FailureGroup {
  const groups: FailureSummary[] = model.failures.filter((f) => failureKind(f) === kind);
  const causes = new Map<string, number>();
  for (const f of groups) {
    const name = f.className ?? f.reason;
    causes.set(name, (causes.get(name) ?? 0) + f.count);
  }
  return {
    count: groups.reduce((n, f) => n + f.count, 0),
    stageIds: distinct(groups.flatMap((f) => f.stageIds)),
    executorIds: distinct(groups.flatMap((f) => f.executorIds)),
    causes: [...causes].sort((a, b) => b[1] - a[1]),
    sampleMessages: groups.flatMap((f) => f.sampleMessages),
  };
}

/** Task attempts of the stages that ran: successful, failed and killed. */
export function taskAttempts(model: ApplicationAttemptModel): number {
  let n = 0;
  for (const s of model.stages) n += s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks;
  return n;
}

/** Whether some attempt of the stage completed. */
export function stageSucceeded(model: ApplicationAttemptModel, stageId: number): boolean {
  return model.stages.some((s) => s.stageId === stageId && s.status === 'COMPLETE');
}

/** The first line of a message, at most `max` characters. */
export function firstLine(message: string, max = 200): string {
  const line = message.split('\n', 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
