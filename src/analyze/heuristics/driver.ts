/**
 * `driver`: the driver's peak JVM heap against `spark.driver.memory` (`driver-memory`), its GC time against
 * the wall clock (`driver-gc`, cluster mode), and the largest result a stage sent it against
 * `spark.driver.maxResultSize` (`driver-result-size`). Heap and GC need the driver's `peakMemoryMetrics`
 * (Spark 3.0+ logs).
 * @module
 */
import type { ExecutorSummary } from '../../model/executor.js';
import type { Finding, Heuristic } from '../analyzer.js';
import { severityOf } from '../analyzer.js';
import { appSpan } from '../timeline.js';
import {
  formatBytes,
  formatMs,
  formatRatio,
  formatSparkBytes,
  MIB,
  parseSparkBytes,
  roundUpBytes,
} from '../units.js';
import { capSeverity, driverMemoryBytes, driverOf, isLocalMode, ranStages, stageLabel } from './common.js';

/** GC time of a JVM from its GC metrics (cumulative, so the peak is the total), 0 when unknown. */
function gcTimeOf(e: ExecutorSummary | undefined): number {
  const m = e?.peakMemoryMetrics;
  if (!m) return 0;
  return (m.TotalGCTime ?? 0) > 0 ? m.TotalGCTime! : (m.MinorGCTime ?? 0) + (m.MajorGCTime ?? 0);
}

/**
 * The driver's memory, GC and the results it received.
 *
 * Findings: `driver-memory`, `driver-gc`, `driver-result-size`.
 */
export const driverHeuristic: Heuristic = {
  id: 'driver',
  description:
    "The driver's peak heap against spark.driver.memory, its GC time against the wall clock, and the largest stage result against spark.driver.maxResultSize.",
  evaluate(model, context) {
    const t = context.thresholds.driver;
    const findings: Finding[] = [];
    const driver = driverOf(model);
    const local = isLocalMode(model);
    const span = appSpan(model);
    const wallMs = Math.max(0, span.end - span.start);
    const gcMs = gcTimeOf(driver);
    const gcRatio = wallMs > 0 ? gcMs / wallMs : 0;
    const limit = driverMemoryBytes(context);

    const heap = driver?.peakMemoryMetrics?.JVMHeapMemory ?? 0;
    // A heap above spark.driver.memory means the driver was sized outside the properties: nothing to judge.
    if (heap > 0 && heap <= limit * 1.05) {
      const ratio = heap / limit;
      let severity = severityOf(ratio, t.heapRatio);
      const calm = context.thresholds.executorMemory.calmGcRatio;
      if (!local && gcMs > 0 && gcRatio < calm) severity = capSeverity(severity, 'low');
      if (severity !== 'none') {
        const next = roundUpBytes(Math.max(heap * 1.3, limit * 1.25), 512 * MIB);
        findings.push({
          id: 'driver-memory',
          title: 'Driver memory close to its limit',
          severity,
          summary: `The driver peaked at ${formatBytes(heap)} of JVM heap, ${formatRatio(ratio)} of spark.driver.memory (${formatBytes(limit)})${local ? ', running the tasks too (local mode)' : ''}.`,
          evidence: {
            metrics: { driverMemoryBytes: limit, peakHeapBytes: heap, heapRatio: ratio, gcTimeMs: gcMs },
            executorIds: ['driver'],
          },
          advice: [
            `Raise spark.driver.memory to ${formatSparkBytes(next)}.`,
            local
              ? 'In local mode the tasks share the driver heap: fewer local threads (local[N]) need less of it.'
              : 'Bring less to the driver: aggregate before collect() and toPandas(), write large results out instead, and keep broadcast variables small.',
          ],
          properties: { 'spark.driver.memory': formatSparkBytes(next) },
        });
      }
    }

    if (!local && gcMs > 0 && wallMs >= t.minWallClockMs) {
      const severity = severityOf(gcRatio, t.gcRatio);
      if (severity !== 'none') {
        const next = roundUpBytes(limit * 1.5, 512 * MIB);
        findings.push({
          id: 'driver-gc',
          title: 'Driver busy collecting garbage',
          severity,
          summary: `The driver spent ${formatMs(gcMs)} of the ${formatMs(wallMs)} wall clock in GC (${formatRatio(gcRatio)}).`,
          evidence: { metrics: { gcTimeMs: gcMs, wallClockMs: wallMs, gcRatio, driverMemoryBytes: limit } },
          advice: [
            `Raise spark.driver.memory to ${formatSparkBytes(next)}.`,
            'Collect less to the driver, and keep fewer jobs, stages and tasks in its memory: lower spark.ui.retainedJobs, spark.ui.retainedStages and spark.sql.ui.retainedExecutions for long-running applications.',
          ],
          properties: { 'spark.driver.memory': formatSparkBytes(next) },
        });
      }
    }

    const configured = parseSparkBytes(context.property('spark.driver.maxResultSize'), 'b');
    const maxResult = configured === undefined ? 1024 * MIB : configured > 0 ? configured : limit;
    let biggest: (typeof model.stages)[number] | undefined;
    for (const s of ranStages(model)) if (!biggest || s.resultSize > biggest.resultSize) biggest = s;
    if (biggest && biggest.resultSize > 0) {
      const ratio = biggest.resultSize / maxResult;
      const severity = severityOf(ratio, t.resultSizeRatio);
      if (severity !== 'none') {
        findings.push({
          id: 'driver-result-size',
          title: 'Large results sent to the driver',
          severity,
          summary: `The tasks of ${stageLabel(biggest)} sent ${formatBytes(biggest.resultSize)} of results to the driver, ${formatRatio(ratio)} of ${configured === 0 ? 'spark.driver.memory (spark.driver.maxResultSize is unlimited)' : `spark.driver.maxResultSize (${formatBytes(maxResult)})`}.`,
          evidence: {
            metrics: {
              resultSizeBytes: biggest.resultSize,
              maxResultSizeBytes: maxResult,
              resultSizeRatio: ratio,
            },
            stageIds: [biggest.stageId],
          },
          advice: [
            'Write large results to storage instead of collecting them; aggregate or limit before collect(), take() or toPandas().',
            `A stage whose results pass spark.driver.maxResultSize fails the job; raising it only moves the pressure onto the driver's ${formatBytes(limit)} heap.`,
          ],
        });
      }
    }
    return findings;
  },
};
