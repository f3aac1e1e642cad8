/**
 * `unified-memory`: the executors' peak unified memory (execution + storage, on-heap) against the unified
 * region (`spark.memory.fraction` of the heap above 300 MiB, as the block manager reports it). A region that
 * stays mostly empty while the heap is busy means user objects, not Spark's execution or cache, filled the
 * heap: a smaller `spark.memory.fraction` gives them room. When the heap is idle too, `executor-memory-unused`
 * says so instead. Needs `peakMemoryMetrics` (Spark 3.0+ logs).
 * @module
 */
import type { ExecutorSummary } from '../../model/executor.js';
import type { Heuristic } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { formatBytes, formatRatio, MIB } from '../units.js';
import { capSeverity, executorMemoryConfig, workersOf } from './common.js';

/** The unified region of an executor, bytes: the block manager's on-heap memory, else from the properties. */
function regionOf(e: ExecutorSummary, heapBytes: number, fraction: number): number {
  const onHeap = e.memoryMetrics?.totalOnHeapStorageMemory ?? 0;
  if (onHeap > 0) return onHeap;
  if (e.maxMemory > 0) return e.maxMemory;
  return Math.max(0, (heapBytes - 300 * MIB) * fraction);
}

/** Peak on-heap unified memory of an executor, bytes. */
function unifiedOf(e: ExecutorSummary): number {
  const m = e.peakMemoryMetrics!;
  return Math.max(m.OnHeapUnifiedMemory ?? 0, (m.OnHeapExecutionMemory ?? 0) + (m.OnHeapStorageMemory ?? 0));
}

/**
 * Peak unified memory against the unified region, when the heap was busy.
 *
 * Finding: `unified-memory` (at most `moderate`: an idle region wastes heap, it does not fail runs).
 */
export const unifiedMemoryHeuristic: Heuristic = {
  id: 'unified-memory',
  description:
    'Peak unified (execution + storage) memory against the unified region (spark.memory.fraction of the heap), when the heap itself was busy.',
  evaluate(model, context) {
    const t = context.thresholds.unifiedMemory;
    const te = context.thresholds.executorMemory;
    const measured = workersOf(model).filter((e) => (e.peakMemoryMetrics?.JVMHeapMemory ?? 0) > 0);
    if (measured.length === 0) return [];
    const mem = executorMemoryConfig(context);
    const fractionProp = Number(context.property('spark.memory.fraction'));
    const fraction = fractionProp > 0 && fractionProp < 1 ? fractionProp : 0.6;

    let busiest: ExecutorSummary | undefined;
    let ratio = -1;
    let region = 0;
    let peakHeap = 0;
    for (const e of measured) {
      peakHeap = Math.max(peakHeap, e.peakMemoryMetrics!.JVMHeapMemory!);
      const r = regionOf(e, mem.heapBytes, fraction);
      if (r <= 0) continue;
      const x = unifiedOf(e) / r;
      if (x > ratio) {
        ratio = x;
        busiest = e;
        region = r;
      }
    }
    if (!busiest || region < t.minRegionBytes) return [];
    const heapRatio = peakHeap / mem.heapBytes;
    if (heapRatio > 1.05) return []; // the properties do not describe these JVMs
    // An idle heap is executor-memory-unused's finding, not this one.
    if (mem.heapBytes >= te.unusedMinBytes && severityOf(heapRatio, te.unusedRatio, true) !== 'none')
      return [];
    const severity = capSeverity(severityOf(ratio, t.unusedRatio, true), 'moderate');
    if (severity === 'none') return [];
    const peak = unifiedOf(busiest);
    const suggested = Math.min(fraction - 0.05, Math.max(0.2, Math.ceil(fraction * ratio * 2 * 20) / 20));
    const properties: Record<string, string> =
      suggested < fraction ? { 'spark.memory.fraction': suggested.toFixed(2) } : {};
    return [
      {
        id: 'unified-memory',
        title: 'Unified memory mostly unused',
        severity,
        summary: `The busiest executor (${busiest.id}) used at most ${formatBytes(peak)} of its ${formatBytes(region)} unified memory region (${formatRatio(ratio)}), while the heap peaked at ${formatBytes(peakHeap)} (${formatRatio(heapRatio)} of spark.executor.memory): user objects, not execution or cache, filled the heap.`,
        evidence: {
          metrics: {
            peakUnifiedBytes: peak,
            unifiedRegionBytes: region,
            unifiedRatio: ratio,
            peakHeapBytes: peakHeap,
            heapRatio,
            memoryFraction: fraction,
          },
          executorIds: [busiest.id],
        },
        advice: [
          suggested < fraction
            ? `Lower spark.memory.fraction from ${fraction} to ${suggested.toFixed(2)}: user objects (UDF state, collections, broadcast values) get the heap the unified region did not use.`
            : 'The unified region is already small: the heap is used by user objects.',
          'If tasks never spill, caching is light and GC is calm, a smaller spark.executor.memory is the cheaper fix.',
        ],
        properties,
      },
    ];
  },
};
