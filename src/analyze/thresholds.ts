/**
 * Thresholds of the built-in heuristics, one object per heuristic, each with a documented default
 * (docs/analysis.md lists them with what they measure). Severity limits are `[low, moderate, severe,
 * critical]` for {@link severityOf}: ascending for "more is worse", descending (marked so) for "less is worse".
 * @module
 */
import { z } from 'zod';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

type Limits = [number, number, number, number];

/** Severity limits `[low, moderate, severe, critical]` with a default. */
const limits = (defaults: Limits) =>
  z
    .tuple([z.number(), z.number(), z.number(), z.number()])
    .default(defaults)
    .describe('[low, moderate, severe, critical]');

const ratio = (d: number) => z.number().min(0).default(d);
const count = (d: number) => z.number().int().min(0).default(d);
const bytes = (d: number) => z.number().min(0).default(d);
const ms = (d: number) => z.number().min(0).default(d);

/** Thresholds of `executor-memory` (`executor-memory`, `executor-memory-unused`). */
const executorMemory = z
  .object({
    /** Peak JVM heap used over `spark.executor.memory`, the busiest executor: "close to the limit". */
    heapRatio: limits([0.85, 0.9, 0.95, 0.99]),
    /**
     * Peak process-tree RSS (JVM, Python and other processes) over the container (`spark.executor.memory` +
     * overhead + `spark.executor.pyspark.memory` + off-heap): "close to the limit".
     */
    rssRatio: limits([0.8, 0.9, 0.95, 0.99]),
    /**
     * Below this share of task time spent in GC, a heap close to its limit holds garbage not yet collected:
     * the heap finding is at most `low`.
     */
    calmGcRatio: ratio(0.05),
    /** Peak JVM heap over `spark.executor.memory`, the busiest executor: "mostly unused" (descending). */
    unusedRatio: limits([0.5, 0.35, 0.2, 0.1]),
    /** Executors smaller than this are never called oversized. */
    unusedMinBytes: bytes(2 * GIB),
    /** Suggested sizes are the peak times this. */
    headroom: z.number().min(1).default(1.3),
  })
  .strict()
  .prefault({});

/** Thresholds of `unified-memory`. */
const unifiedMemory = z
  .object({
    /** Peak on-heap unified (execution + storage) memory over the unified region, busiest executor (descending). */
    unusedRatio: limits([0.5, 0.25, 0.1, 0.05]),
    /** Unified regions smaller than this are not judged. */
    minRegionBytes: bytes(GIB),
  })
  .strict()
  .prefault({});

/** Thresholds of `executor-gc`. */
const gc = z
  .object({
    /** JVM GC time over executor run time, all stages. */
    ratio: limits([0.08, 0.1, 0.15, 0.2]),
    /** Applications with less task run time than this are not judged. */
    minRunTimeMs: ms(5 * 60_000),
    /** Executors with less task time than this are not listed on their own. */
    minExecutorTimeMs: ms(60_000),
  })
  .strict()
  .prefault({});

/** Thresholds of `stage-spill`. */
const spill = z
  .object({
    /** Bytes spilled from memory over the stage's input plus shuffle read, worst stage. */
    ratio: limits([0.25, 1, 3, 10]),
    /** Stages that spilled less than this are ignored. */
    minBytes: bytes(100 * MIB),
  })
  .strict()
  .prefault({});

/** Thresholds of `stage-skew`. */
const skew = z
  .object({
    /** Longest over median task duration, worst stage. */
    durationRatio: limits([2, 4, 8, 16]),
    /** Largest over median task shuffle read or input: at or above the first limit, the skew is in the data. */
    bytesRatio: limits([2, 4, 8, 16]),
    /** Stages with fewer successful tasks are not judged. */
    minTasks: count(10),
    /** Stages whose longest task ran less than this beyond the median are not judged. */
    minExcessMs: ms(30_000),
    /** Data skew needs the largest task to read at least this much. */
    minBytes: bytes(64 * MIB),
  })
  .strict()
  .prefault({});

/** Thresholds of `task-failures`, `fetch-failures` and `executor-lost`. */
const failures = z
  .object({
    /** Task attempts that ran out of memory (`task-failures-oom`). */
    oomTasks: limits([1, 3, 10, 30]),
    /** Task attempts and executors killed for exceeding their container's memory (`task-failures-memory-overhead`). */
    memoryKills: limits([1, 2, 5, 10]),
    /** Task attempts that failed to fetch shuffle blocks (`fetch-failures`). */
    fetchFailures: limits([1, 3, 10, 30]),
    /** Executors lost for other reasons (`executor-lost`). */
    executorsLost: limits([1, 3, 10, 30]),
    /** Other failed task attempts over all task attempts (`task-failures`). */
    failedTaskRatio: limits([0.01, 0.05, 0.1, 0.25]),
  })
  .strict()
  .prefault({});

/** Thresholds of `stage-failures`. */
const stageFailures = z
  .object({
    /** Failed stage attempts. A stage that never succeeded afterwards is at least `moderate`. */
    count: limits([1, 2, 5, 10]),
  })
  .strict()
  .prefault({});

/** Thresholds of `job-failures`. */
const jobFailures = z
  .object({
    /** Failed jobs. When the last job failed, the finding is `critical`. */
    count: limits([1, 2, 5, 10]),
  })
  .strict()
  .prefault({});

/** Thresholds of `driver` (`driver-memory`, `driver-gc`, `driver-result-size`). */
const driver = z
  .object({
    /** The driver's peak JVM heap over `spark.driver.memory`. */
    heapRatio: limits([0.8, 0.9, 0.95, 0.99]),
    /** The driver's GC time over the application's wall clock (cluster mode). */
    gcRatio: limits([0.05, 0.1, 0.2, 0.3]),
    /** Applications shorter than this are not judged for driver GC. */
    minWallClockMs: ms(60_000),
    /** The largest stage result over `spark.driver.maxResultSize` (over `spark.driver.memory` when unlimited). */
    resultSizeRatio: limits([0.25, 0.5, 0.75, 0.9]),
  })
  .strict()
  .prefault({});

/** Thresholds of `idle-executors`. */
const idleExecutors = z
  .object({
    /** Share of the executors' core-time (cores × time alive) that ran no task. */
    idleRatio: limits([0.5, 0.65, 0.8, 0.9]),
    /** Applications given fewer executor core-hours than this are not judged. */
    minCoreHours: z.number().min(0).default(0.5),
  })
  .strict()
  .prefault({});

/** Thresholds of `scheduler-delay`. */
const schedulerDelay = z
  .object({
    /** Median scheduler delay over median task duration, worst stage. */
    ratio: limits([0.1, 0.2, 0.4, 0.6]),
    /** Stages whose median delay times their tasks is below this are not judged. */
    minTotalDelayMs: ms(10_000),
  })
  .strict()
  .prefault({});

/** Thresholds of `partition-count` (`partition-count-too-many`, `partition-count-too-few`). */
const partitions = z
  .object({
    /** Median task duration of a stage with many tasks (descending). */
    tinyTaskMs: limits([100, 50, 20, 5]),
    /** Stages with fewer successful tasks are never "too many". */
    minTinyTasks: count(1000),
    /** Suggested partition counts aim at tasks of about this long. */
    targetTaskMs: ms(1000),
    /** Median bytes (input plus shuffle read) per task of a stage: "huge tasks". */
    hugeTaskBytes: limits([512 * MIB, GIB, 2 * GIB, 4 * GIB]),
    /** Share of task slots a stage left idle by having fewer tasks than slots. */
    idleSlotRatio: limits([0.25, 0.5, 0.75, 0.9]),
    /** "Fewer tasks than slots" only counts when the stage's longest task ran at least this long. */
    longTaskMs: ms(60_000),
    /** Suggested partition counts aim at partitions of about this size. */
    targetPartitionBytes: bytes(128 * MIB),
  })
  .strict()
  .prefault({});

/** Thresholds of `small-files`. */
const smallFiles = z
  .object({
    /** Median input bytes per task over the split size Spark aims at (descending). */
    ratio: limits([0.25, 0.1, 0.05, 0.01]),
    /** Stages with fewer successful tasks are not judged. */
    minTasks: count(50),
    /** Stages that read less than this are not judged. */
    minInputBytes: bytes(GIB),
    /** The split size aimed at is never taken above this, so a huge maxPartitionBytes does not make every split look small. */
    referenceSplitBytes: bytes(128 * MIB),
  })
  .strict()
  .prefault({});

/** Thresholds of `config` (`config-*`). */
const config = z
  .object({
    /** RDD (non-SQL) shuffle bytes written above which a non-Kryo serializer is reported. */
    serializerMinShuffleBytes: bytes(256 * MIB),
    /** Peak Python RSS over the default memory overhead above which PySpark needs more overhead. */
    pythonOverheadRatio: ratio(0.5),
    /** Speculative task attempts over all task attempts above which speculation is reported. */
    speculativeRatio: ratio(0.1),
    /** Fewer speculative task attempts than this are never reported. */
    minSpeculativeTasks: count(10),
  })
  .strict()
  .prefault({});

/**
 * Thresholds of the built-in heuristics. Every field has a default, so `analyzerThresholdsSchema.parse({})`
 * gives them all, and a host overrides only what it names.
 *
 * @example
 * ```ts
 * const t = analyzerThresholdsSchema.parse({ gc: { ratio: [0.05, 0.1, 0.2, 0.3] } });
 * t.spill.minBytes; // 104857600 (the default)
 * ```
 */
export const analyzerThresholdsSchema = z
  .object({
    executorMemory,
    unifiedMemory,
    gc,
    spill,
    skew,
    failures,
    stageFailures,
    jobFailures,
    driver,
    idleExecutors,
    schedulerDelay,
    partitions,
    smallFiles,
    config,
  })
  .strict();

/** Thresholds in force: every field present. */
export type AnalyzerThresholds = z.output<typeof analyzerThresholdsSchema>;

/** Thresholds a host may pass: every field optional. */
export type AnalyzerThresholdsInput = z.input<typeof analyzerThresholdsSchema>;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The default thresholds (`analyzerThresholdsSchema.parse({})`), frozen. */
export const defaultThresholds: Readonly<AnalyzerThresholds> = deepFreeze(analyzerThresholdsSchema.parse({}));
