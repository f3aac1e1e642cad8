/**
 * `executor-memory`: the executors' peak JVM heap and process RSS against what they were given
 * (`spark.executor.memory`, and the container: heap + overhead + PySpark + off-heap memory). Reports an
 * executor close to either limit (`executor-memory`), or executors that never used most of their heap
 * (`executor-memory-unused`). Needs `peakMemoryMetrics` (Spark 3.0+ logs).
 * @module
 */
import type { Finding, Heuristic, Severity } from '../analyzer.js';
import { maxSeverity, severityOf } from '../analyzer.js';
import { formatBytes, formatRatio, formatSparkBytes, MIB, roundUpBytes } from '../units.js';
import {
  capSeverity,
  executorGcRatio,
  executorMemoryConfig,
  failureKind,
  peakRss,
  removalKind,
  workersOf,
} from './common.js';

/**
 * Peak executor memory against the configured sizes.
 *
 * Findings: `executor-memory` (heap or RSS close to its limit), `executor-memory-unused` (heap mostly unused).
 */
export const executorMemoryHeuristic: Heuristic = {
  id: 'executor-memory',
  description:
    'Peak JVM heap and process RSS of the executors against spark.executor.memory and the container size: close to the limit, or mostly unused.',
  evaluate(model, context) {
    const t = context.thresholds.executorMemory;
    const all = workersOf(model);
    const measured = all.filter((e) => (e.peakMemoryMetrics?.JVMHeapMemory ?? 0) > 0);
    if (measured.length === 0) return [];
    const mem = executorMemoryConfig(context);

    let heapExec = measured[0]!;
    let rssExec = measured[0]!;
    for (const e of measured) {
      if (e.peakMemoryMetrics!.JVMHeapMemory! > heapExec.peakMemoryMetrics!.JVMHeapMemory!) heapExec = e;
      if (peakRss(e) > peakRss(rssExec)) rssExec = e;
    }
    const peakHeap = heapExec.peakMemoryMetrics!.JVMHeapMemory!;
    const heapRatio = peakHeap / mem.heapBytes;
    const rss = peakRss(rssExec);
    const rssRatio = rss / mem.containerBytes;
    const gcRatio = executorGcRatio(all);
    // A heap cannot outgrow its -Xmx: a larger peak means the properties do not describe these JVMs (memory
    // set outside Spark's properties, such as SPARK_EXECUTOR_MEMORY), so nothing can be judged against them.
    if (heapRatio > 1.05) return [];

    let heapSeverity = severityOf(heapRatio, t.heapRatio);
    if (gcRatio < t.calmGcRatio) heapSeverity = capSeverity(heapSeverity, 'low');
    const rssSeverity: Severity = rss > 0 ? severityOf(rssRatio, t.rssRatio) : 'none';
    const metrics = {
      executorMemoryBytes: mem.heapBytes,
      peakHeapBytes: peakHeap,
      heapRatio,
      containerBytes: mem.containerBytes,
      peakRssBytes: rss,
      rssRatio,
      gcRatio,
      executorsMeasured: measured.length,
    };

    if (heapSeverity !== 'none' || rssSeverity !== 'none') {
      const near = measured.filter(
        (e) =>
          e.peakMemoryMetrics!.JVMHeapMemory! / mem.heapBytes >= t.heapRatio[0] ||
          (peakRss(e) > 0 && peakRss(e) / mem.containerBytes >= t.rssRatio[0]),
      );
      const advice: string[] = [];
      const properties: Record<string, string> = {};
      const parts: string[] = [];
      if (heapSeverity !== 'none') {
        const suggested = roundUpBytes(Math.max(peakHeap * t.headroom, mem.heapBytes * 1.25), 512 * MIB);
        // With calm GC the full heap is not evidence enough to ask for more memory.
        if (gcRatio >= t.calmGcRatio) properties['spark.executor.memory'] = formatSparkBytes(suggested);
        parts.push(
          `Executor ${heapExec.id} peaked at ${formatBytes(peakHeap)} of JVM heap, ${formatRatio(heapRatio)} of spark.executor.memory (${formatBytes(mem.heapBytes)})`,
        );
        advice.push(
          gcRatio < t.calmGcRatio
            ? `GC took only ${formatRatio(gcRatio)} of task time, so the full heap was mostly garbage not yet collected; watch for OutOfMemoryError before raising spark.executor.memory (to ${formatSparkBytes(suggested)}).`
            : `Raise spark.executor.memory to ${formatSparkBytes(suggested)}, or run fewer tasks per executor (lower spark.executor.cores) so each task has more heap.`,
        );
      }
      if (rssSeverity !== 'none') {
        const neededOverhead = Math.max(
          mem.overheadBytes * 1.25,
          rss * t.headroom - mem.heapBytes - mem.pysparkBytes - mem.offHeapBytes,
        );
        const overhead = roundUpBytes(neededOverhead, 128 * MIB);
        properties['spark.executor.memoryOverhead'] = formatSparkBytes(overhead);
        parts.push(
          `Executor ${rssExec.id}'s processes peaked at ${formatBytes(rss)} resident, ${formatRatio(rssRatio)} of its ${formatBytes(mem.containerBytes)} container`,
        );
        advice.push(
          `Raise spark.executor.memoryOverhead to ${formatSparkBytes(overhead)} (now ${formatBytes(mem.overheadBytes)}${mem.overheadSet ? '' : ', the default'}): the cluster manager kills a container whose processes exceed it. Off-heap buffers, Python workers and native libraries live there.`,
        );
      }
      const f: Finding = {
        id: 'executor-memory',
        title: 'Executor memory close to its limit',
        severity: maxSeverity(heapSeverity, rssSeverity),
        summary: `${parts.join('; ')}.`,
        evidence: { metrics, executorIds: near.map((e) => e.id) },
        advice,
        properties,
      };
      return [f];
    }

    const unusedSeverity = severityOf(heapRatio, t.unusedRatio, true);
    const ranTasks = measured.some((e) => e.totalTasks > 0);
    const memoryTrouble =
      model.failures.some((f) => {
        const k = failureKind(f);
        return k === 'oom' || k === 'memory-kill';
      }) || all.some((e) => removalKind(e) === 'memory-kill');
    if (unusedSeverity === 'none' || mem.heapBytes < t.unusedMinBytes || !ranTasks || memoryTrouble)
      return [];
    const suggested = roundUpBytes(Math.max(peakHeap * t.headroom, 1024 * MIB), 512 * MIB);
    const properties: Record<string, string> = { 'spark.executor.memory': formatSparkBytes(suggested) };
    if (rss > 0) {
      // Keep the container big enough for what the processes used outside the heap.
      const outside = rss * t.headroom - suggested - mem.pysparkBytes - mem.offHeapBytes;
      const defaultOverhead = Math.max(384 * MIB, suggested * 0.1);
      if (outside > (mem.overheadSet ? mem.overheadBytes : defaultOverhead)) {
        properties['spark.executor.memoryOverhead'] = formatSparkBytes(roundUpBytes(outside, 128 * MIB));
      }
    }
    return [
      {
        id: 'executor-memory-unused',
        title: 'Executor memory mostly unused',
        severity: unusedSeverity,
        summary: `The busiest of ${measured.length} executor${measured.length === 1 ? '' : 's'} (${heapExec.id}) peaked at ${formatBytes(peakHeap)} of JVM heap, ${formatRatio(heapRatio)} of spark.executor.memory (${formatBytes(mem.heapBytes)}).`,
        evidence: { metrics, executorIds: measured.map((e) => e.id) },
        advice: [
          `Lower spark.executor.memory to ${formatSparkBytes(suggested)} (the peak plus ${Math.round((t.headroom - 1) * 100)}% headroom), or keep it and raise spark.executor.cores to run more tasks per executor.`,
          'Peaks are sampled at heartbeats and stage ends: check that the next run shows no spill, GC pressure or OutOfMemoryError.',
        ],
        properties,
      },
    ];
  },
};
