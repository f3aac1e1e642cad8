import { describe, expect, it } from 'vitest';
import {
  type Finding,
  type Heuristic,
  type HeuristicContext,
  severityOf,
  sparkProperty,
} from '../../src/analyze/analyzer.js';
import { coreTimeOf } from '../../src/analyze/heuristics/idle-executors.js';
import {
  builtinHeuristics,
  configHeuristic,
  driverHeuristic,
  executorGcHeuristic,
  executorLostHeuristic,
  executorMemoryHeuristic,
  fetchFailuresHeuristic,
  idleExecutorsHeuristic,
  jobFailuresHeuristic,
  partitionCountHeuristic,
  schedulerDelayHeuristic,
  smallFilesHeuristic,
  stageFailuresHeuristic,
  stageSkewHeuristic,
  stageSpillHeuristic,
  taskFailuresHeuristic,
  unifiedMemoryHeuristic,
} from '../../src/analyze/heuristics/index.js';
import { jobAnalyzer } from '../../src/analyze/job-analyzer.js';
import {
  type AnalyzerThresholdsInput,
  analyzerThresholdsSchema,
  defaultThresholds,
} from '../../src/analyze/thresholds.js';
import { formatBytes, formatSparkBytes, parseSparkBytes } from '../../src/analyze/units.js';
import { type ApplicationAttemptModel, eventLogCollector, parseSparkDate } from '../../src/index.js';
import { fixture, sharedData } from '../helpers/data.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

// Real logs only: Spark's own test logs, logs from public repositories (../shared/data), and logs written by
// real Spark through scripts/fixtures (test/fixtures/spark-events).
const LOGS = {
  /** PySpark on local-cluster: tasks fail on their first attempt, then a job fails for good. */
  failures: fixture('spark-events/failures/app-20261121130542-0000.zstd'),
  /** Standalone GPU cluster: GPU OOM task failures, failed jobs and stages, spills. */
  gpuOom: sharedData('more-events/spark-rapids-tools/spark-events-profiling/gpu_oom_eventlog.zstd'),
  /** YARN PySpark: 8 executors lost (container exit status 56). */
  lost: sharedData('spark-events-historical/application_1538416563558_0014'),
  /** YARN, 7g executors that used under 1 GiB of heap, 2.5 GB input tasks. */
  largeBlocks: sharedData('spark-events/application_1553914137147_0018'),
  /** Kubernetes NYC taxi job: a full heap with calm GC, a 2-task stage reading 5 GB. */
  k8s: sharedData(
    'more-events/kubeflow-mcp-apache-spark-history-server/k8s-rolling-events/eventlog_v2_spark-110be3a8424d4a2789cb88134418217b',
  ),
  /** YARN GPU NDS q66: scheduler delay, GC, idle executors, thousands of tiny tasks. */
  nds: sharedData('more-events/spark-rapids-tools/spark-events-profiling/nds_q66_gpu.zstd'),
  /** Local SQL with AQE: one stage spilled 528 MiB while reading 97 MiB. */
  aqe: sharedData('more-events/spark-rapids-tools/spark-events-qualification/aqeshuffle_eventlog.zstd'),
  /** 12,000 tiny tasks in local mode. */
  rolling: fixture('spark-events/rolling/eventlog_v2_local-1795266301629'),
  /** Databricks ML runtime, XGBoost: RDD shuffles with Java serialization. */
  xgboost: sharedData('more-events/spark-rapids-tools/spark-events-qualification/xgboost_eventlog.zstd'),
  /** Standalone, Spark 3.1.1 SQL, one 16-core executor mostly idle. */
  jdbc: sharedData('more-events/spark-rapids-tools/spark-events-qualification/jdbc_eventlog.zstd'),
  /** YARN with dynamic allocation and the external shuffle service. */
  dynamic: sharedData(
    'more-events/spark-rapids-tools/spark-events-qualification/cluster_information/eventlog_4nodes_8cores_dynamic_alloc.zstd',
  ),
  /** YARN with speculation: one speculative task, a 64 s straggler among 4 tasks. */
  speculation: sharedData('spark-events/application_1628109047826_1317105'),
  /** YARN 3.0 with driver GC metrics. */
  driverGc: sharedData('spark-events-historical/application_1536831636016_59384_1'),
  /** Spark 1.2 local: no executor metrics, one failed job. */
  spark12: sharedData('spark-events/local-1422981780767'),
  /** Spark 1.4 local: 100 tasks reading 69 KiB each. */
  spark14: sharedData('spark-events/local-1430917381534'),
  /** Spark 2.1 local-cluster: executor metrics present but all zero, retried task failures. */
  zeroMetrics: sharedData('spark-events/app-20161115172038-0000'),
  /** Spark 1.5 YARN (Dr. Elephant's test log). */
  drElephant: sharedData('more-events/dr-elephant/event_log_1'),
  /** An application with no jobs. */
  empty: sharedData('more-events/spark-rapids-tools/spark-events-qualification/empty_eventlog'),
  /** A trimmed log: no stages, no tasks. */
  trimmed: sharedData('more-events/dr-elephant/event_log_2'),
};
type LogName = keyof typeof LOGS;

const collected = await eventLogCollector({ workers: 1 }).collect(Object.values(LOGS));
const models = {} as Record<LogName, ApplicationAttemptModel>;
for (const [name, path] of Object.entries(LOGS) as [LogName, string][]) {
  const found = collected.applications.filter((m) => m.sources[0]!.startsWith(path));
  if (found.length !== 1)
    throw new Error(`${name}: expected one application from ${path}, got ${found.length}`);
  models[name] = found[0]!;
}

function context(
  model: ApplicationAttemptModel,
  thresholds: AnalyzerThresholdsInput = {},
  overrides: Record<string, string | undefined> = {},
): HeuristicContext {
  return {
    thresholds: analyzerThresholdsSchema.parse(thresholds),
    property: (key) => (key in overrides ? overrides[key] : sparkProperty(model, key)),
  };
}

function run(
  h: Heuristic,
  name: LogName,
  thresholds: AnalyzerThresholdsInput = {},
  overrides = {},
): Finding[] {
  return h.evaluate(models[name], context(models[name], thresholds, overrides));
}

function all(name: LogName, thresholds: AnalyzerThresholdsInput = {}): Finding[] {
  const m = models[name];
  const c = context(m, thresholds);
  return builtinHeuristics.flatMap((h) => h.evaluate(m, c));
}

function only(findings: Finding[], id: string): Finding {
  const hits = findings.filter((f) => f.id === id);
  expect(hits.map((f) => f.id)).toEqual([id]);
  return hits[0]!;
}

const workers = (m: ApplicationAttemptModel) => m.executors.filter((e) => e.id !== 'driver');
const ran = (m: ApplicationAttemptModel) =>
  m.stages.filter((s) => s.status !== 'SKIPPED' && s.status !== 'PENDING');
const median = (q: number[], v: number[]) => v[q.indexOf(0.5)]!;

describe('units', () => {
  it('parses Spark sizes with their default unit', () => {
    expect(parseSparkBytes('4g', 'm')).toBe(4 * GIB);
    expect(parseSparkBytes('1024', 'm')).toBe(GIB);
    expect(parseSparkBytes('512m')).toBe(512 * MIB);
    expect(parseSparkBytes('21588m', 'm')).toBe(21588 * MIB);
    expect(parseSparkBytes('50G', 'm')).toBe(50 * GIB);
    expect(parseSparkBytes('10gb', 'b')).toBe(10 * GIB);
    expect(parseSparkBytes('128MB', 'b')).toBe(128 * MIB);
    expect(parseSparkBytes('2GB', 'b')).toBe(2 * GIB);
    expect(parseSparkBytes('256k')).toBe(256 * 1024);
    expect(parseSparkBytes(' 1.5 g ', 'm')).toBe(1.5 * GIB);
    expect(parseSparkBytes('1024', 'b')).toBe(1024);
    expect(parseSparkBytes('1t', 'm')).toBe(1024 * GIB);
    expect(parseSparkBytes('lots', 'm')).toBeUndefined();
    expect(parseSparkBytes('4 gigs', 'm')).toBeUndefined();
    expect(parseSparkBytes('', 'm')).toBeUndefined();
    expect(parseSparkBytes(undefined, 'm')).toBeUndefined();
  });

  it('formats sizes as Spark properties and for people', () => {
    expect(formatSparkBytes(6 * GIB)).toBe('6g');
    expect(formatSparkBytes(1.5 * GIB)).toBe('1536m');
    expect(formatSparkBytes(GIB + 1)).toBe('1025m');
    expect(formatSparkBytes(2048)).toBe('2k');
    expect(formatSparkBytes(1000)).toBe('1000b');
    expect(formatSparkBytes(0)).toBe('0b');
    expect(parseSparkBytes(formatSparkBytes(5632 * MIB), 'm')).toBe(5632 * MIB);
    expect(formatBytes(4208296816)).toBe('3.9 GiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(553648128)).toBe('528 MiB');
  });
});

describe('thresholds', () => {
  it('parse({}) gives the frozen defaults, and every heuristic group has its defaults', () => {
    const parsed = analyzerThresholdsSchema.parse({});
    expect(parsed).toEqual(defaultThresholds);
    expect(Object.isFrozen(defaultThresholds)).toBe(true);
    expect(Object.isFrozen(defaultThresholds.gc.ratio)).toBe(true);
    // parse() hands out fresh objects, not the frozen defaults.
    expect(Object.isFrozen(parsed.gc.ratio)).toBe(false);
    expect(defaultThresholds.gc.ratio).toEqual([0.08, 0.1, 0.15, 0.2]);
    expect(defaultThresholds.spill.minBytes).toBe(100 * MIB);
    expect(defaultThresholds.executorMemory.unusedMinBytes).toBe(2 * GIB);
  });

  it('keeps the defaults a host does not name, and rejects unknown keys', () => {
    const t = analyzerThresholdsSchema.parse({ gc: { ratio: [0.01, 0.02, 0.03, 0.04] } });
    expect(t.gc.ratio).toEqual([0.01, 0.02, 0.03, 0.04]);
    expect(t.gc.minRunTimeMs).toBe(defaultThresholds.gc.minRunTimeMs);
    expect(t.spill).toEqual(defaultThresholds.spill);
    expect(() => analyzerThresholdsSchema.parse({ gc: { ration: [1, 2, 3, 4] } })).toThrow(/ration/);
    expect(() => analyzerThresholdsSchema.parse({ gcc: {} })).toThrow(/gcc/);
  });
});

describe('every heuristic on every real log', () => {
  it('never throws, returns no `none` finding, and prefixes finding ids with its own id', async () => {
    const everything = await eventLogCollector({ workers: 1 }).collect([
      sharedData('spark-events'),
      sharedData('spark-events-historical'),
      sharedData('spark-events-broken'),
      sharedData('more-events'),
      fixture('spark-events'),
    ]);
    expect(everything.applications.length).toBeGreaterThan(80);
    expect(new Set(builtinHeuristics.map((h) => h.id)).size).toBe(builtinHeuristics.length);
    let findings = 0;
    for (const m of everything.applications) {
      const c = context(m);
      for (const h of builtinHeuristics) {
        for (const f of h.evaluate(m, c)) {
          findings++;
          expect(f.id.startsWith(h.id), `${f.id} from ${h.id}`).toBe(true);
          expect(f.severity).not.toBe('none');
          expect(f.summary.length).toBeGreaterThan(10);
          expect(f.advice.length).toBeGreaterThan(0);
          for (const v of Object.values(f.evidence.metrics)) {
            if (typeof v === 'number') expect(Number.isFinite(v), `${f.id} ${m.appId}`).toBe(true);
          }
          for (const [k, v] of Object.entries(f.properties ?? {})) {
            expect(k.startsWith('spark.')).toBe(true);
            expect(v.length).toBeGreaterThan(0);
          }
        }
      }
    }
    expect(findings).toBeGreaterThan(60);
  });
});

describe('failures', () => {
  it('failures fixture: failed tasks, the failed stage and the failed job, counted from the model', () => {
    const m = models.failures;
    const f = all('failures');
    const failed = m.failures.filter((x) => x.reason === 'ExceptionFailure').reduce((n, x) => n + x.count, 0);
    const attempts = m.stages.reduce(
      (n, s) => n + s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks,
      0,
    );
    expect(failed).toBe(9);
    expect(attempts).toBe(16);

    const tasks = only(f, 'task-failures');
    expect(tasks.severity).toBe('critical'); // 56% failed, and stage 1 never succeeded
    expect(tasks.evidence.metrics.failedTasks).toBe(failed);
    expect(tasks.evidence.metrics.taskAttempts).toBe(attempts);
    expect(tasks.evidence.metrics.topCause).toBe('org.apache.spark.api.python.PythonException');
    expect(tasks.evidence.stageIds).toEqual([0, 1]);

    const stages = only(f, 'stage-failures');
    expect(stages.severity).toBe('moderate');
    expect(stages.evidence.stageIds).toEqual(
      m.stages.filter((s) => s.status === 'FAILED').map((s) => s.stageId),
    );
    expect(stages.evidence.metrics.unrecoveredStages).toBe(1);

    const jobs = only(f, 'job-failures');
    expect(jobs.severity).toBe('low'); // one of three jobs, not the last
    expect(jobs.evidence.metrics.failedJobs).toBe(m.jobs.filter((j) => j.status === 'FAILED').length);
    expect(jobs.evidence.metrics.jobs).toBe(3);

    // Python exceptions are not out-of-memory errors, nor lost executors.
    expect(f.map((x) => x.id)).not.toContain('task-failures-oom');
    expect(f.map((x) => x.id)).not.toContain('executor-lost');
    // Python workers ran with the default overhead: max(384 MiB, 10% of 512m).
    const py = only(f, 'config-pyspark-overhead');
    expect(py.severity).toBe('low');
    expect(py.evidence.metrics.memoryOverheadBytes).toBe(384 * MIB);
  });

  it('GPU OOM log: out-of-memory tasks, the failed last job, and GPU advice', () => {
    const m = models.gpuOom;
    const f = all('gpuOom');
    const oom = m.failures.filter((x) => /OOM|OutOfMemory/.test(x.className ?? ''));
    const oomTasks = oom.reduce((n, x) => n + x.count, 0);
    expect(oomTasks).toBe(112);

    const o = only(f, 'task-failures-oom');
    expect(o.severity).toBe('critical');
    expect(o.evidence.metrics.oomTasks).toBe(oomTasks);
    expect(o.evidence.stageIds).toEqual([...new Set(oom.flatMap((x) => x.stageIds))].sort((a, b) => a - b));
    const concurrent = Number(sparkProperty(m, 'spark.rapids.sql.concurrentGpuTasks'));
    expect(o.properties).toEqual({
      'spark.rapids.sql.concurrentGpuTasks': String(concurrent - 1),
      'spark.sql.files.maxPartitionBytes': '5g', // half of 10gb
    });

    const jobs = only(f, 'job-failures');
    expect(jobs.severity).toBe('critical');
    expect(jobs.evidence.metrics.failedJobs).toBe(m.jobs.filter((j) => j.status === 'FAILED').length);
    expect(jobs.evidence.metrics.lastJobId).toBe(Math.max(...m.jobs.map((j) => j.jobId)));
    expect(jobs.evidence.metrics.lastJobStatus).toBe('FAILED');

    const stages = only(f, 'stage-failures');
    expect(stages.evidence.metrics.failedStageAttempts).toBe(
      m.stages.filter((s) => s.status === 'FAILED').length,
    );
    expect(stages.severity).toBe(severityOf(5, defaultThresholds.stageFailures.count));

    // The cancelled task is not a failure.
    expect(f.map((x) => x.id)).not.toContain('task-failures');
  });

  it('lost executors: counts executors named by lost tasks and removals, not memory kills for exit status 56', () => {
    const m = models.lost;
    const f = all('lost');
    const lostTasks = m.failures.filter((x) => x.reason === 'ExecutorLostFailure');
    const removed = workers(m).filter((e) => /Container marked as failed/.test(e.removeReason ?? ''));
    const ids = [...new Set([...lostTasks.flatMap((x) => x.executorIds), ...removed.map((e) => e.id)])];
    expect(ids).toHaveLength(8);

    const lost = only(f, 'executor-lost');
    expect(lost.severity).toBe('moderate');
    expect(lost.evidence.metrics.executorsLost).toBe(ids.length);
    expect(lost.evidence.metrics.failedTasks).toBe(lostTasks.reduce((n, x) => n + x.count, 0));
    expect(String(lost.evidence.metrics.sampleMessage)).toContain('Exit status: 56');
    expect(f.map((x) => x.id)).not.toContain('task-failures-memory-overhead');
    expect(f.map((x) => x.id)).not.toContain('fetch-failures');
  });

  it('failure heuristics return nothing for runs without failures', () => {
    for (const name of ['k8s', 'nds', 'rolling', 'empty', 'trimmed'] as LogName[]) {
      for (const h of [
        taskFailuresHeuristic,
        fetchFailuresHeuristic,
        executorLostHeuristic,
        stageFailuresHeuristic,
        jobFailuresHeuristic,
      ]) {
        expect(run(h, name), `${h.id} on ${name}`).toEqual([]);
      }
    }
    // No real log here has a FetchFailed task: the heuristic stays silent on the ones with other failures.
    for (const name of ['failures', 'gpuOom', 'lost', 'spark12'] as LogName[]) {
      expect(run(fetchFailuresHeuristic, name)).toEqual([]);
    }
  });

  it('retried failures are capped at severe; a higher ratio threshold lowers or removes them', () => {
    const m = models.zeroMetrics;
    const f = only(run(taskFailuresHeuristic, 'zeroMetrics'), 'task-failures');
    expect(f.evidence.metrics.failedTasks).toBe(10);
    expect(f.evidence.metrics.taskAttempts).toBe(26);
    expect(m.stages.every((s) => s.status === 'COMPLETE')).toBe(true);
    expect(f.severity).toBe('severe'); // 38% failed, every stage succeeded on retry
    expect(
      run(taskFailuresHeuristic, 'zeroMetrics', { failures: { failedTaskRatio: [0.5, 0.6, 0.7, 0.8] } }),
    ).toEqual([]);
  });
});

describe('memory', () => {
  it('executor-memory-unused: 7g executors that peaked under 1 GiB', () => {
    const m = models.largeBlocks;
    const peak = Math.max(...workers(m).map((e) => e.peakMemoryMetrics!.JVMHeapMemory!));
    expect(peak).toBe(984736560);
    const f = only(run(executorMemoryHeuristic, 'largeBlocks'), 'executor-memory-unused');
    expect(f.evidence.metrics.executorMemoryBytes).toBe(7 * GIB);
    expect(f.evidence.metrics.peakHeapBytes).toBe(peak);
    expect(f.evidence.metrics.heapRatio).toBeCloseTo(peak / (7 * GIB), 12);
    expect(f.severity).toBe(severityOf(peak / (7 * GIB), defaultThresholds.executorMemory.unusedRatio, true));
    expect(f.severity).toBe('severe');
    // 1.3 × 939 MiB, rounded up to 512 MiB.
    expect(f.properties).toEqual({ 'spark.executor.memory': '1536m' });
    // Executors under 2 GiB are never called oversized; raising the floor removes the finding.
    expect(
      run(executorMemoryHeuristic, 'largeBlocks', { executorMemory: { unusedMinBytes: 8 * GIB } }),
    ).toEqual([]);
  });

  it('executor-memory: a heap at 98% with calm GC is low, and asks for no more memory', () => {
    const m = models.k8s;
    const f = only(run(executorMemoryHeuristic, 'k8s'), 'executor-memory');
    const w = workers(m);
    const peak = Math.max(...w.map((e) => e.peakMemoryMetrics!.JVMHeapMemory!));
    const gc = w.reduce((n, e) => n + e.totalGCTime, 0) / w.reduce((n, e) => n + e.totalDuration, 0);
    expect(f.evidence.metrics.peakHeapBytes).toBe(peak);
    expect(f.evidence.metrics.heapRatio).toBeCloseTo(peak / (4 * GIB), 12);
    expect(f.evidence.metrics.gcRatio).toBeCloseTo(gc, 12);
    expect(peak / (4 * GIB)).toBeGreaterThan(0.95);
    expect(f.severity).toBe('low');
    expect(f.properties).toEqual({});
    // Container: 4g heap + 4g overhead; the RSS peak is far from it.
    expect(f.evidence.metrics.containerBytes).toBe(8 * GIB);
    const rss = Math.max(
      ...w.map(
        (e) =>
          e.peakMemoryMetrics!.ProcessTreeJVMRSSMemory! +
          e.peakMemoryMetrics!.ProcessTreePythonRSSMemory! +
          e.peakMemoryMetrics!.ProcessTreeOtherRSSMemory!,
      ),
    );
    expect(f.evidence.metrics.peakRssBytes).toBe(rss);
    // Without the calm-GC cap the same heap is severe, and then the finding asks for more memory.
    const loud = only(
      run(executorMemoryHeuristic, 'k8s', { executorMemory: { calmGcRatio: 0 } }),
      'executor-memory',
    );
    expect(loud.severity).toBe('severe');
    expect(loud.properties!['spark.executor.memory']).toBe(
      formatSparkBytes(Math.ceil((peak * 1.3) / (512 * MIB)) * 512 * MIB),
    );
  });

  it('unified-memory: an idle unified region while the heap was busy', () => {
    const m = models.xgboost;
    // By default the xgboost heap counts as unused (34%), which is executor-memory-unused's finding.
    expect(run(unifiedMemoryHeuristic, 'xgboost')).toEqual([]);
    expect(only(run(executorMemoryHeuristic, 'xgboost'), 'executor-memory-unused').severity).toBe('moderate');
    const busyHeap = {
      executorMemory: { unusedRatio: [0.1, 0.05, 0.02, 0.01] as [number, number, number, number] },
    };
    const f = only(run(unifiedMemoryHeuristic, 'xgboost', busyHeap), 'unified-memory');
    let best = 0;
    for (const e of workers(m)) {
      const p = e.peakMemoryMetrics!;
      const region = e.memoryMetrics?.totalOnHeapStorageMemory || e.maxMemory;
      best = Math.max(
        best,
        Math.max(p.OnHeapUnifiedMemory!, p.OnHeapExecutionMemory! + p.OnHeapStorageMemory!) / region,
      );
    }
    expect(f.evidence.metrics.unifiedRatio).toBeCloseTo(best, 12);
    expect(best).toBeLessThan(0.25);
    expect(f.severity).toBe('moderate'); // severe by its ratio, capped at moderate
    expect(f.properties).toEqual({ 'spark.memory.fraction': '0.20' });
  });

  it('memory heuristics return nothing for logs without executor memory metrics', () => {
    for (const name of ['spark12', 'spark14', 'drElephant', 'zeroMetrics', 'empty', 'trimmed'] as LogName[]) {
      for (const h of [executorMemoryHeuristic, unifiedMemoryHeuristic])
        expect(run(h, name), `${h.id} ${name}`).toEqual([]);
      expect(
        run(driverHeuristic, name).filter((f) => f.id !== 'driver-result-size'),
        name,
      ).toEqual([]);
    }
  });

  it('executor-gc: GC time over run time, summed over stages', () => {
    const m = models.nds;
    const stages = ran(m);
    const gc = stages.reduce((n, s) => n + s.jvmGcTime, 0);
    const runTime = stages.reduce((n, s) => n + s.executorRunTime, 0);
    const f = only(run(executorGcHeuristic, 'nds'), 'executor-gc');
    expect(f.evidence.metrics.gcTimeMs).toBe(gc);
    expect(f.evidence.metrics.runTimeMs).toBe(runTime);
    expect(f.severity).toBe(severityOf(gc / runTime, defaultThresholds.gc.ratio));
    expect(f.severity).toBe('moderate');
    expect(f.properties).toEqual({ 'spark.executor.memory': '24g' }); // 1.5 × 16G
    expect(run(executorGcHeuristic, 'nds', { gc: { ratio: [0.2, 0.3, 0.4, 0.5] } })).toEqual([]);
    // Too little run time to judge.
    expect(run(executorGcHeuristic, 'zeroMetrics')).toEqual([]);
    expect(
      run(executorGcHeuristic, 'zeroMetrics', { gc: { minRunTimeMs: 0 } })[0]!.evidence.metrics.gcTimeMs,
    ).toBe(404);
  });

  it('stage-spill: bytes spilled over bytes read, worst stage', () => {
    const m = models.aqe;
    const spilled = ran(m).filter((s) => s.memoryBytesSpilled >= 100 * MIB);
    expect(spilled.map((s) => s.stageId)).toEqual([4]);
    const s = spilled[0]!;
    const f = only(run(stageSpillHeuristic, 'aqe'), 'stage-spill');
    expect(f.evidence.stageIds).toEqual([4]);
    expect(f.evidence.metrics.memoryBytesSpilled).toBe(s.memoryBytesSpilled);
    expect(f.evidence.metrics.diskBytesSpilled).toBe(s.diskBytesSpilled);
    const ratio = s.memoryBytesSpilled / (s.inputBytes + s.shuffleReadBytes);
    expect(f.evidence.metrics.worstStageSpillRatio).toBeCloseTo(ratio, 12);
    expect(f.severity).toBe('severe');
    // The partitions are already small (AQE merged them to ~7.4 MiB): memory, not partitions, is the advice.
    expect(f.properties).toEqual({});
    expect(f.advice.join(' ')).toMatch(/spark\.driver\.memory/);
    expect(run(stageSpillHeuristic, 'aqe', { spill: { minBytes: s.memoryBytesSpilled + 1 } })).toEqual([]);
  });

  it('stage-spill on the GPU log covers every spilling stage', () => {
    const m = models.gpuOom;
    const f = only(run(stageSpillHeuristic, 'gpuOom'), 'stage-spill');
    const spilled = ran(m).filter((s) => s.memoryBytesSpilled >= 100 * MIB);
    expect(f.evidence.stageIds!.sort((a, b) => a - b)).toEqual(
      spilled.map((s) => s.stageId).sort((a, b) => a - b),
    );
    expect(f.evidence.metrics.memoryBytesSpilled).toBe(spilled.reduce((n, s) => n + s.memoryBytesSpilled, 0));
    const worst = Math.max(...spilled.map((s) => s.memoryBytesSpilled / (s.inputBytes + s.shuffleReadBytes)));
    expect(f.evidence.metrics.worstStageSpillRatio).toBeCloseTo(worst, 12);
    expect(f.severity).toBe(severityOf(worst, defaultThresholds.spill.ratio));
  });
});

describe('driver', () => {
  it('driver-gc and driver-memory from the driver peak metrics', () => {
    const m = models.driverGc;
    expect(run(driverHeuristic, 'driverGc')).toEqual([]);
    const d = m.executors.find((e) => e.id === 'driver')!.peakMemoryMetrics!;
    const gcMs = d.MinorGCTime! + d.MajorGCTime!;
    const a = m.application.attempts[0]!;
    const wall = a.endTimeEpoch - a.startTimeEpoch;
    const f = run(driverHeuristic, 'driverGc', {
      driver: { gcRatio: [0.01, 0.02, 0.03, 0.05], minWallClockMs: 0, heapRatio: [0.3, 0.5, 0.7, 0.9] },
    });
    const gc = only(f, 'driver-gc');
    expect(gc.evidence.metrics.gcTimeMs).toBe(gcMs);
    expect(gc.evidence.metrics.wallClockMs).toBe(wall);
    expect(gc.severity).toBe(severityOf(gcMs / wall, [0.01, 0.02, 0.03, 0.05]));
    const mem = only(f, 'driver-memory');
    expect(mem.evidence.metrics.driverMemoryBytes).toBe(512 * MIB);
    expect(mem.evidence.metrics.heapRatio).toBeCloseTo(d.JVMHeapMemory! / (512 * MIB), 12);
    expect(mem.severity).toBe('low');
  });

  it('driver-result-size against spark.driver.maxResultSize', () => {
    const m = models.nds;
    const biggest = ran(m).reduce((a, s) => (s.resultSize > a.resultSize ? s : a));
    const f = only(
      run(driverHeuristic, 'nds', { driver: { resultSizeRatio: [0.001, 0.01, 0.1, 0.5] } }),
      'driver-result-size',
    );
    expect(f.evidence.stageIds).toEqual([biggest.stageId]);
    expect(f.evidence.metrics.resultSizeBytes).toBe(biggest.resultSize);
    expect(f.evidence.metrics.maxResultSizeBytes).toBe(
      parseSparkBytes(sparkProperty(m, 'spark.driver.maxResultSize'), 'b'),
    );
    expect(f.severity).toBe('low');
    expect(run(driverHeuristic, 'nds')).toEqual([]);
  });
});

describe('time and parallelism', () => {
  it('scheduler-delay: median delay over median duration on the NDS log', () => {
    const m = models.nds;
    let worst = 0;
    const stages = new Set<number>();
    for (const s of ran(m)) {
      const d = s.taskMetricsDistributions!;
      const delay = median(d.quantiles, d.schedulerDelay);
      if (delay * s.numCompleteTasks < 10_000) continue;
      const r = delay / Math.max(1, median(d.quantiles, d.duration));
      if (r >= 0.1) stages.add(s.stageId);
      worst = Math.max(worst, r);
    }
    const f = only(run(schedulerDelayHeuristic, 'nds'), 'scheduler-delay');
    expect(f.evidence.metrics.schedulerDelayRatio).toBeCloseTo(worst, 12);
    expect(f.severity).toBe('critical');
    expect(new Set(f.evidence.stageIds)).toEqual(stages);
    expect(f.evidence.stageIds).toEqual(expect.arrayContaining([31, 32, 33, 34, 35]));
    expect(run(schedulerDelayHeuristic, 'nds', { schedulerDelay: { minTotalDelayMs: 1e9 } })).toEqual([]);
    // Spark 1.5 logs have the quantiles too.
    expect(only(run(schedulerDelayHeuristic, 'drElephant'), 'scheduler-delay').evidence.stageIds).toEqual([
      0,
    ]);
  });

  it('partition-count-too-many: 12,000 tasks of a few milliseconds', () => {
    const m = models.rolling;
    const tiny = ran(m).filter((s) => {
      const d = s.taskMetricsDistributions!;
      return s.numCompleteTasks >= 1000 && median(d.quantiles, d.duration) <= 100;
    });
    const f = only(run(partitionCountHeuristic, 'rolling'), 'partition-count-too-many');
    expect(f.evidence.metrics.tinyTasks).toBe(tiny.reduce((n, s) => n + s.numCompleteTasks, 0));
    expect(f.evidence.metrics.tinyTasks).toBe(12000);
    expect(new Set(f.evidence.stageIds)).toEqual(new Set(tiny.map((s) => s.stageId)));
    const worst = Math.min(
      ...tiny.map((s) => median(s.taskMetricsDistributions!.quantiles, s.taskMetricsDistributions!.duration)),
    );
    expect(f.severity).toBe(severityOf(worst, defaultThresholds.partitions.tinyTaskMs, true));
    expect(f.severity).toBe('critical');
    expect(run(partitionCountHeuristic, 'rolling', { partitions: { minTinyTasks: 1501 } })).toEqual([]);
  });

  it('partition-count-too-few: two tasks reading 2.5 GiB each while half the slots idled', () => {
    const m = models.k8s;
    const s = m.stages.find((x) => x.stageId === 7)!;
    expect(s.numTasks).toBe(2);
    const f = only(run(partitionCountHeuristic, 'k8s'), 'partition-count-too-few');
    expect(f.evidence.stageIds).toContain(7);
    expect(f.evidence.metrics.tasks).toBe(2);
    expect(f.evidence.metrics.slots).toBe(workers(m).reduce((n, e) => n + e.totalCores, 0));
    expect(f.evidence.metrics.bytesPerTask).toBe(
      median(s.taskMetricsDistributions!.quantiles, s.taskMetricsDistributions!.shuffleReadMetrics.readBytes),
    );
    expect(f.evidence.metrics.suggestedPartitions).toBe(Math.ceil(s.shuffleReadBytes / (128 * MIB)));
    expect(f.severity).toBe('severe');
    // spark.sql.shuffle.partitions (200 by default) did not make these 2 partitions: no property, advice instead.
    expect(f.properties).toEqual({});
    expect(f.advice[0]).toMatch(/repartition, coalesce/);
    // The same for a 2-task input stage of 2.5 GB tasks.
    const large = only(run(partitionCountHeuristic, 'largeBlocks'), 'partition-count-too-few');
    const s2 = models.largeBlocks.stages.find((x) => x.stageId === 2)!;
    expect(large.evidence.metrics.bytesPerTask).toBe(
      median(s2.taskMetricsDistributions!.quantiles, s2.taskMetricsDistributions!.inputMetrics.bytesRead),
    );
    expect(large.severity).toBe('severe');
  });

  it('stage-skew: a 64 s straggler among 5 s tasks once 4-task stages are judged', () => {
    const m = models.speculation;
    expect(run(stageSkewHeuristic, 'speculation')).toEqual([]); // fewer than 10 tasks
    const f = only(run(stageSkewHeuristic, 'speculation', { skew: { minTasks: 4 } }), 'stage-skew');
    const d = m.stages.find((s) => s.stageId === 0)!.taskMetricsDistributions!;
    const med = median(d.quantiles, d.duration);
    const max = d.duration[d.duration.length - 1]!;
    expect(f.evidence.metrics.medianTaskMs).toBe(med);
    expect(f.evidence.metrics.maxTaskMs).toBe(max);
    expect(f.evidence.metrics.durationRatio).toBeCloseTo(max / med, 12);
    expect(f.severity).toBe(severityOf(max / med, defaultThresholds.skew.durationRatio));
    expect(f.severity).toBe('severe');
    // Speculation is already on: nothing to set.
    expect(f.properties).toEqual({});
    // A larger excess requirement removes it again.
    expect(
      run(stageSkewHeuristic, 'speculation', { skew: { minTasks: 4, minExcessMs: max - med + 1 } }),
    ).toEqual([]);
  });

  it('idle-executors: core-time given against task time run', () => {
    const m = models.nds;
    const a = m.application.attempts[0]!;
    let allocated = 0;
    for (const e of workers(m)) {
      const start = Math.max(parseSparkDate(e.addTime), a.startTimeEpoch);
      const end = e.removeTime ? Math.min(parseSparkDate(e.removeTime), a.endTimeEpoch) : a.endTimeEpoch;
      allocated += e.totalCores * (end - start);
    }
    const used = workers(m).reduce((n, e) => n + e.totalDuration, 0);
    const f = only(run(idleExecutorsHeuristic, 'nds'), 'idle-executors');
    expect(f.evidence.metrics.allocatedCoreMs).toBe(allocated);
    expect(f.evidence.metrics.usedCoreMs).toBe(used);
    expect(f.evidence.metrics.idleRatio).toBeCloseTo(1 - used / allocated, 12);
    expect(f.severity).toBe('severe');
    // Static allocation: the advice turns dynamic allocation on (the shuffle service is already enabled).
    expect(f.properties).toEqual({ 'spark.dynamicAllocation.enabled': 'true' });
    expect(coreTimeOf(m)!.allocatedMs).toBe(allocated);
    // Local mode has no executors to release.
    expect(coreTimeOf(models.rolling)).toBeUndefined();
    expect(run(idleExecutorsHeuristic, 'rolling')).toEqual([]);
    expect(run(idleExecutorsHeuristic, 'nds', { idleExecutors: { minCoreHours: 10 } })).toEqual([]);
  });

  it('small-files: 100 tasks of 69 KiB once small inputs are judged', () => {
    const m = models.spark14;
    expect(run(smallFilesHeuristic, 'spark14')).toEqual([]); // 6.6 MiB is below the 1 GiB floor
    const f = only(
      run(smallFilesHeuristic, 'spark14', { smallFiles: { minInputBytes: MIB } }),
      'small-files',
    );
    const s = m.stages.find((x) => x.stageId === 0)!;
    const med = median(
      s.taskMetricsDistributions!.quantiles,
      s.taskMetricsDistributions!.inputMetrics.bytesRead,
    );
    const slots = Math.max(1, m.executors.find((e) => e.id === 'driver')!.totalCores);
    const expected = Math.min(128 * MIB, Math.max(4 * MIB, s.inputBytes / slots));
    expect(f.evidence.stageIds).toEqual([0]);
    expect(f.evidence.metrics.medianInputBytes).toBe(med);
    expect(f.evidence.metrics.expectedSplitBytes).toBe(expected);
    expect(f.severity).toBe(severityOf(med / expected, defaultThresholds.smallFiles.ratio, true));
    expect(f.severity).toBe('severe');
  });

  it('time heuristics stay silent without task quantiles', () => {
    // An old log's stages without quantiles: the same real model with the quantiles taken away.
    const bare = structuredClone(models.nds);
    for (const s of bare.stages) delete s.taskMetricsDistributions;
    const c = context(bare);
    expect(stageSkewHeuristic.evaluate(bare, c)).toEqual([]);
    expect(schedulerDelayHeuristic.evaluate(bare, c)).toEqual([]);
    expect(partitionCountHeuristic.evaluate(bare, c).map((f) => f.id)).not.toContain(
      'partition-count-too-many',
    );
    for (const name of ['empty', 'trimmed'] as LogName[]) {
      for (const h of [
        stageSkewHeuristic,
        schedulerDelayHeuristic,
        partitionCountHeuristic,
        smallFilesHeuristic,
      ]) {
        expect(run(h, name)).toEqual([]);
      }
    }
  });
});

describe('configuration', () => {
  it('config-serializer: RDD shuffles with Java serialization', () => {
    const m = models.xgboost;
    const sqlJobs = new Set(m.jobs.filter((j) => j.sqlExecutionId !== undefined).map((j) => j.jobId));
    const bytes = ran(m)
      .filter((s) => !s.jobIds.some((id) => sqlJobs.has(id)))
      .reduce((n, s) => n + s.shuffleWriteBytes, 0);
    const f = only(run(configHeuristic, 'xgboost'), 'config-serializer');
    expect(f.evidence.metrics.rddShuffleWriteBytes).toBe(bytes);
    expect(f.properties).toEqual({ 'spark.serializer': 'org.apache.spark.serializer.KryoSerializer' });
    expect(run(configHeuristic, 'xgboost', { config: { serializerMinShuffleBytes: bytes + 1 } })).toEqual([]);
  });

  it('config-aqe: Spark 3.1 SQL shuffles with adaptive execution off by default', () => {
    const f = only(run(configHeuristic, 'jdbc'), 'config-aqe');
    expect(f.severity).toBe('low');
    expect(f.properties).toEqual({ 'spark.sql.adaptive.enabled': 'true' });
    expect(run(configHeuristic, 'jdbc', {}, { 'spark.sql.adaptive.enabled': 'true' })).toEqual([]);
    // Spark 3.2+ turns it on by default; Spark 2 has none.
    expect(run(configHeuristic, 'k8s').map((x) => x.id)).not.toContain('config-aqe');
    expect(run(configHeuristic, 'zeroMetrics')).toEqual([]);
  });

  it('config-dynamic-allocation: dynamic allocation without the shuffle service on Spark 3.2', () => {
    expect(run(configHeuristic, 'dynamic').map((x) => x.id)).not.toContain('config-dynamic-allocation');
    const f = only(
      run(configHeuristic, 'dynamic', {}, { 'spark.shuffle.service.enabled': 'false' }),
      'config-dynamic-allocation',
    );
    expect(f.severity).toBe('moderate');
    expect(f.properties).toEqual({ 'spark.dynamicAllocation.shuffleTracking.enabled': 'true' });
    // With shuffle tracking on, the executors' idle time decides.
    const tracked = run(
      configHeuristic,
      'dynamic',
      {},
      { 'spark.shuffle.service.enabled': 'false', 'spark.dynamicAllocation.shuffleTracking.enabled': 'true' },
    );
    const idle = coreTimeOf(models.dynamic)!.idleRatio;
    expect(idle).toBeGreaterThan(0.5);
    expect(only(tracked, 'config-dynamic-allocation').evidence.metrics.idleRatio).toBeCloseTo(idle, 12);
  });

  it('config-speculation: speculative copies over task attempts', () => {
    const m = models.speculation;
    expect(run(configHeuristic, 'speculation').map((x) => x.id)).not.toContain('config-speculation');
    const f = only(
      run(configHeuristic, 'speculation', { config: { minSpeculativeTasks: 1 } }),
      'config-speculation',
    );
    const spec = m.stages.reduce((n, s) => n + (s.speculationSummary?.numTasks ?? 0), 0);
    const attempts = m.stages.reduce(
      (n, s) => n + s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks,
      0,
    );
    expect(f.evidence.metrics.speculativeTasks).toBe(spec);
    expect(f.evidence.metrics.taskAttempts).toBe(attempts);
    expect(f.evidence.metrics.speculativeRatio).toBeCloseTo(spec / attempts, 12);
  });
});

describe('the job analyzer with the built-in heuristics', () => {
  it('sorts findings worst first and honours thresholds and disable', async () => {
    const analysis = await jobAnalyzer().analyze(models.gpuOom);
    expect(analysis.severity).toBe('critical');
    expect(analysis.findings.map((f) => f.id)).toEqual(
      expect.arrayContaining(['job-failures', 'task-failures-oom', 'stage-spill', 'stage-failures']),
    );
    const ranks = analysis.findings.map((f) =>
      ['none', 'low', 'moderate', 'severe', 'critical'].indexOf(f.severity),
    );
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    const quieter = await jobAnalyzer({
      disable: ['task-failures', 'job-failures'],
      thresholds: { spill: { minBytes: 1024 * GIB } },
    }).analyze(models.gpuOom);
    const ids = quieter.findings.map((f) => f.id);
    expect(ids).not.toContain('task-failures-oom');
    expect(ids).not.toContain('job-failures');
    expect(ids).not.toContain('stage-spill');
    expect(ids).toContain('stage-failures');
  });
});
