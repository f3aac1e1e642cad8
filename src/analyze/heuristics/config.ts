/**
 * `config`: configuration practice, judged against what the run did. The serializer for RDD-heavy
 * applications (`config-serializer`), dynamic allocation without a way to keep shuffle output
 * (`config-dynamic-allocation`), the memory overhead of PySpark applications (`config-pyspark-overhead`),
 * speculation that launched many copies (`config-speculation`), and adaptive query execution left off
 * (`config-aqe`). These findings are `low` or `moderate`: they are advice, not failures.
 * @module
 */
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import type { Finding, Heuristic, HeuristicContext } from '../analyzer.js';
import { formatBytes, formatRatio, formatSparkBytes, MIB, roundUpBytes } from '../units.js';
import {
  aqeEnabled,
  executorMemoryConfig,
  isLocalMode,
  isPythonApp,
  ranStages,
  taskAttempts,
  usesPythonWorkers,
  versionAtLeast,
  workersOf,
} from './common.js';
import { coreTimeOf } from './idle-executors.js';

/** Jobs that ran Spark SQL (they carry an SQL execution id). */
function sqlJobIds(model: ApplicationAttemptModel): Set<number> {
  return new Set(model.jobs.filter((j) => j.sqlExecutionId !== undefined).map((j) => j.jobId));
}

function serializer(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  const value = context.property('spark.serializer') ?? 'org.apache.spark.serializer.JavaSerializer';
  if (/Kryo/i.test(value) || isPythonApp(model, context)) return [];
  const sql = sqlJobIds(model);
  let bytes = 0;
  const stageIds: number[] = [];
  for (const s of ranStages(model)) {
    if (s.shuffleWriteBytes <= 0 || s.jobIds.some((id) => sql.has(id))) continue;
    bytes += s.shuffleWriteBytes;
    stageIds.push(s.stageId);
  }
  if (bytes < context.thresholds.config.serializerMinShuffleBytes) return [];
  return [
    {
      id: 'config-serializer',
      title: 'Java serialization for RDD shuffles',
      severity: 'low',
      summary: `RDD stages (outside Spark SQL) shuffled ${formatBytes(bytes)} with ${value.replace(/^.*\./, '')}.`,
      evidence: {
        metrics: { rddShuffleWriteBytes: bytes, serializer: value },
        stageIds: [...new Set(stageIds)],
      },
      advice: [
        'Kryo is faster and more compact than Java serialization for RDD shuffles and serialized caching; register the classes you shuffle (spark.kryo.classesToRegister) so Kryo does not write their names.',
      ],
      properties: { 'spark.serializer': 'org.apache.spark.serializer.KryoSerializer' },
    },
  ];
}

function dynamicAllocation(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  const p = (k: string) => context.property(k)?.trim().toLowerCase();
  if (p('spark.dynamicAllocation.enabled') !== 'true' || isLocalMode(model)) return [];
  if (p('spark.shuffle.service.enabled') === 'true') return [];
  const trackingProp = p('spark.dynamicAllocation.shuffleTracking.enabled');
  const tracking =
    trackingProp === undefined ? versionAtLeast(model, 3, 4) === true : trackingProp === 'true';
  const decommission =
    p('spark.decommission.enabled') === 'true' &&
    p('spark.storage.decommission.shuffleBlocks.enabled') !== 'false';
  if (!tracking && !decommission) {
    return [
      {
        id: 'config-dynamic-allocation',
        title: 'Dynamic allocation without shuffle tracking or shuffle service',
        severity: 'moderate',
        summary:
          'Dynamic allocation is on, but neither the external shuffle service nor shuffle tracking keeps shuffle output when an executor is released.',
        evidence: { metrics: { shuffleService: 'false', shuffleTracking: 'false' } },
        advice: [
          'Turn on shuffle tracking (Spark 3.0+), or the external shuffle service where the cluster runs it: otherwise a released executor takes its shuffle files with it and later stages re-run its tasks.',
        ],
        properties: { 'spark.dynamicAllocation.shuffleTracking.enabled': 'true' },
      },
    ];
  }
  const core = coreTimeOf(model);
  const idleLow = context.thresholds.idleExecutors.idleRatio[0];
  if (
    tracking &&
    core &&
    core.idleRatio >= idleLow &&
    context.property('spark.dynamicAllocation.shuffleTracking.timeout') === undefined
  ) {
    return [
      {
        id: 'config-dynamic-allocation',
        title: 'Shuffle tracking kept idle executors',
        severity: 'low',
        summary: `Dynamic allocation relies on shuffle tracking, and the executors sat ${formatRatio(core.idleRatio)} idle: an executor holding shuffle data is only released once that shuffle is cleaned up.`,
        evidence: {
          metrics: { idleRatio: core.idleRatio, shuffleTracking: 'true', shuffleService: 'false' },
        },
        advice: [
          'Use the external shuffle service where the cluster offers it, or set spark.dynamicAllocation.shuffleTracking.timeout so executors holding shuffle data are released after it (their output is recomputed if needed).',
        ],
      },
    ];
  }
  return [];
}

function pysparkOverhead(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  if (isLocalMode(model) || taskAttempts(model) === 0 || !usesPythonWorkers(model)) return [];
  const mem = executorMemoryConfig(context);
  if (mem.overheadSet || mem.pysparkBytes > 0) return [];
  let pyRss = 0;
  for (const e of workersOf(model))
    pyRss = Math.max(pyRss, e.peakMemoryMetrics?.ProcessTreePythonRSSMemory ?? 0);
  const ratio = pyRss / mem.overheadBytes;
  if (pyRss > 0 && ratio < context.thresholds.config.pythonOverheadRatio) return [];
  const overhead = roundUpBytes(Math.max(mem.overheadBytes * 2, pyRss * 1.3 + 384 * MIB), 128 * MIB);
  return [
    {
      id: 'config-pyspark-overhead',
      title: 'Default memory overhead for a PySpark application',
      severity: pyRss > 0 ? 'moderate' : 'low',
      summary:
        pyRss > 0
          ? `Python workers peaked at ${formatBytes(pyRss)} resident, ${formatRatio(ratio)} of the default memory overhead (${formatBytes(mem.overheadBytes)}) that has to hold them.`
          : `Python workers ran on the executors with the default memory overhead (${formatBytes(mem.overheadBytes)}) and no spark.executor.pyspark.memory, so they share the overhead with the JVM's off-heap memory.`,
      evidence: {
        metrics: {
          memoryOverheadBytes: mem.overheadBytes,
          peakPythonRssBytes: pyRss,
          pythonOverheadRatio: ratio,
        },
      },
      advice: [
        `Set spark.executor.memoryOverhead (to ${formatSparkBytes(overhead)}), or spark.executor.pyspark.memory to give the Python workers their own limit: containers whose processes pass the limit are killed.`,
      ],
      properties: { 'spark.executor.memoryOverhead': formatSparkBytes(overhead) },
    },
  ];
}

function speculation(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  if (context.property('spark.speculation')?.trim().toLowerCase() !== 'true') return [];
  let speculative = 0;
  let killed = 0;
  const stageIds: number[] = [];
  for (const s of model.stages) {
    if (!s.speculationSummary || s.speculationSummary.numTasks === 0) continue;
    speculative += s.speculationSummary.numTasks;
    killed += s.speculationSummary.numKilledTasks;
    stageIds.push(s.stageId);
  }
  const attempts = taskAttempts(model);
  const ratio = attempts > 0 ? speculative / attempts : 0;
  const t = context.thresholds.config;
  if (speculative < t.minSpeculativeTasks || ratio < t.speculativeRatio) return [];
  return [
    {
      id: 'config-speculation',
      title: 'Many speculative tasks',
      severity: 'low',
      summary: `${speculative} of ${attempts} task attempts (${formatRatio(ratio)}) were speculative copies; ${killed} were killed unused.`,
      evidence: {
        metrics: {
          speculativeTasks: speculative,
          killedSpeculativeTasks: killed,
          taskAttempts: attempts,
          speculativeRatio: ratio,
        },
        stageIds: [...new Set(stageIds)],
      },
      advice: [
        'Speculation copies tasks slower than spark.speculation.multiplier × the median once spark.speculation.quantile of them finished: raise the multiplier, or fix what makes tasks uneven (stage-skew).',
      ],
    },
  ];
}

function adaptive(model: ApplicationAttemptModel, context: HeuristicContext): Finding[] {
  if (versionAtLeast(model, 3, 0) !== true || aqeEnabled(model, context)) return [];
  const sql = sqlJobIds(model);
  const stageIds = ranStages(model)
    .filter((s) => s.shuffleReadBytes > 0 && s.jobIds.some((id) => sql.has(id)))
    .map((s) => s.stageId);
  if (stageIds.length === 0) return [];
  const explicit = context.property('spark.sql.adaptive.enabled') !== undefined;
  return [
    {
      id: 'config-aqe',
      title: 'Adaptive query execution is off',
      severity: 'low',
      summary: `${stageIds.length} Spark SQL stage${stageIds.length === 1 ? '' : 's'} read shuffle data with adaptive execution off (${explicit ? 'spark.sql.adaptive.enabled=false' : 'the default before Spark 3.2'}).`,
      evidence: { metrics: { sqlShuffleStages: stageIds.length }, stageIds: [...new Set(stageIds)] },
      advice: [
        'Turn on adaptive execution: it coalesces small shuffle partitions, splits skewed join partitions and switches to broadcast joins from runtime sizes.',
      ],
      properties: { 'spark.sql.adaptive.enabled': 'true' },
    },
  ];
}

/**
 * Configuration practice.
 *
 * Findings: `config-serializer`, `config-dynamic-allocation`, `config-pyspark-overhead`, `config-speculation`,
 * `config-aqe`.
 */
export const configHeuristic: Heuristic = {
  id: 'config',
  description:
    'Configuration practice against what the run did: serializer, dynamic allocation and shuffle tracking, PySpark memory overhead, speculation, adaptive execution.',
  evaluate(model, context) {
    return [
      ...serializer(model, context),
      ...dynamicAllocation(model, context),
      ...pysparkOverhead(model, context),
      ...speculation(model, context),
      ...adaptive(model, context),
    ];
  },
};
