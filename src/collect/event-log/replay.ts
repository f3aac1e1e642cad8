/**
 * Replays Spark listener events into the normalized model, following the History Server's
 * `AppStatusListener` so that sparkpilot's numbers are Spark's numbers.
 *
 * Hot-path rule: per-task work updates fixed-size arrays and bounded sketches; nothing grows with the
 * number of tasks except one bit per completed partition index.
 * @module
 */
import { type ApplicationAttemptInfo, formatSparkDate } from '../../model/application.js';
import type { ApplicationAttemptModel, CollectionStats, CollectionWarning } from '../../model/attempt.js';
import type {
  ApplicationEnvironmentInfo,
  PropertyPair,
  ResourceProfileInfo,
  RuntimeInfo,
} from '../../model/environment.js';
import type { ExecutorSummary, ResourceInformation } from '../../model/executor.js';
import type { FailureSummary } from '../../model/failures.js';
import type { JobData, JobExecutionStatus } from '../../model/job.js';
import { EXECUTOR_METRIC_NAMES, type ExecutorMetrics } from '../../model/metrics.js';
import { STAGE_QUANTILES } from '../../model/quantiles.js';
import type { SqlExecution } from '../../model/sql.js';
import type {
  AccumulableInfo,
  ExecutorStageSummary,
  StageData,
  StageStatus,
  TaskMetricDistributions,
} from '../../model/stage.js';
import { IndexSet, StageIndexSet, TaskIdSet } from './bitset.js';
import { StageDistributions } from './quantiles.js';
import {
  N_EXECUTOR_METRICS,
  N_TASK_METRICS,
  newTaskRecord,
  readExecutorMetrics,
  T,
  type TaskRecord,
  taskRecordFromJson,
} from './task-record.js';

// biome-ignore lint/suspicious/noExplicitAny: events are parsed JSON
type Json = any;

// Stage metric sums use the task record's metric slots (T.executorRunTime, …), the first N_TASK_METRICS.
const M = T;
const N_METRICS = N_TASK_METRICS;

// Distribution slots: every metric above plus duration, gettingResultTime, schedulerDelay, readBytes,
// totalBlocksFetched.
const D_DURATION = N_METRICS;
const D_GETTING_RESULT = N_METRICS + 1;
const D_SCHEDULER_DELAY = N_METRICS + 2;
const D_READ_BYTES = N_METRICS + 3;
const D_TOTAL_BLOCKS = N_METRICS + 4;
const N_DIST = N_METRICS + 5;

/** A record's metric fields, in the History Server's order: each from a column, or the sum of two. */
type MetricFields<T> = readonly (readonly [keyof T, number, number?])[];

/** The stage's aggregate task metrics as `StageData` names them. */
const STAGE_METRIC_FIELDS: MetricFields<StageData> = [
  ['executorDeserializeTime', M.executorDeserializeTime],
  ['executorDeserializeCpuTime', M.executorDeserializeCpuTime],
  ['executorRunTime', M.executorRunTime],
  ['executorCpuTime', M.executorCpuTime],
  ['resultSize', M.resultSize],
  ['jvmGcTime', M.jvmGcTime],
  ['resultSerializationTime', M.resultSerializationTime],
  ['memoryBytesSpilled', M.memoryBytesSpilled],
  ['diskBytesSpilled', M.diskBytesSpilled],
  ['peakExecutionMemory', M.peakExecutionMemory],
  ['inputBytes', M.inputBytes],
  ['inputRecords', M.inputRecords],
  ['outputBytes', M.outputBytes],
  ['outputRecords', M.outputRecords],
  ['shuffleRemoteBlocksFetched', M.remoteBlocksFetched],
  ['shuffleLocalBlocksFetched', M.localBlocksFetched],
  ['shuffleFetchWaitTime', M.fetchWaitTime],
  ['shuffleRemoteBytesRead', M.remoteBytesRead],
  ['shuffleRemoteBytesReadToDisk', M.remoteBytesReadToDisk],
  ['shuffleLocalBytesRead', M.localBytesRead],
  ['shuffleReadBytes', M.localBytesRead, M.remoteBytesRead],
  ['shuffleReadRecords', M.shuffleRecordsRead],
  ['shuffleCorruptMergedBlockChunks', M.corruptMergedBlockChunks],
  ['shuffleMergedFetchFallbackCount', M.mergedFetchFallbackCount],
  ['shuffleMergedRemoteBlocksFetched', M.remoteMergedBlocksFetched],
  ['shuffleMergedLocalBlocksFetched', M.localMergedBlocksFetched],
  ['shuffleMergedRemoteChunksFetched', M.remoteMergedChunksFetched],
  ['shuffleMergedLocalChunksFetched', M.localMergedChunksFetched],
  ['shuffleMergedRemoteBytesRead', M.remoteMergedBytesRead],
  ['shuffleMergedLocalBytesRead', M.localMergedBytesRead],
  ['shuffleRemoteReqsDuration', M.remoteReqsDuration],
  ['shuffleMergedRemoteReqsDuration', M.remoteMergedReqsDuration],
  ['shuffleWriteBytes', M.shuffleBytesWritten],
  ['shuffleWriteTime', M.shuffleWriteTime],
  ['shuffleWriteRecords', M.shuffleRecordsWritten],
];

/** An executor's totals in a stage as `ExecutorStageSummary` names them. */
const EXECUTOR_STAGE_METRIC_FIELDS: MetricFields<ExecutorStageSummary> = [
  ['inputBytes', M.inputBytes],
  ['inputRecords', M.inputRecords],
  ['outputBytes', M.outputBytes],
  ['outputRecords', M.outputRecords],
  ['shuffleRead', M.localBytesRead, M.remoteBytesRead],
  ['shuffleReadRecords', M.shuffleRecordsRead],
  ['shuffleWrite', M.shuffleBytesWritten],
  ['shuffleWriteRecords', M.shuffleRecordsWritten],
  ['memoryBytesSpilled', M.memoryBytesSpilled],
  ['diskBytesSpilled', M.diskBytesSpilled],
];

/**
 * Where each column of the task summary goes in `TaskMetricDistributions` (its sections, then its field), in
 * the History Server's order.
 */
const DIST_FIELDS: readonly (readonly [section: readonly string[], field: string, column: number])[] = [
  [[], 'duration', D_DURATION],
  [[], 'executorDeserializeTime', M.executorDeserializeTime],
  [[], 'executorDeserializeCpuTime', M.executorDeserializeCpuTime],
  [[], 'executorRunTime', M.executorRunTime],
  [[], 'executorCpuTime', M.executorCpuTime],
  [[], 'resultSize', M.resultSize],
  [[], 'jvmGcTime', M.jvmGcTime],
  [[], 'resultSerializationTime', M.resultSerializationTime],
  [[], 'gettingResultTime', D_GETTING_RESULT],
  [[], 'schedulerDelay', D_SCHEDULER_DELAY],
  [[], 'peakExecutionMemory', M.peakExecutionMemory],
  [[], 'memoryBytesSpilled', M.memoryBytesSpilled],
  [[], 'diskBytesSpilled', M.diskBytesSpilled],
  [['inputMetrics'], 'bytesRead', M.inputBytes],
  [['inputMetrics'], 'recordsRead', M.inputRecords],
  [['outputMetrics'], 'bytesWritten', M.outputBytes],
  [['outputMetrics'], 'recordsWritten', M.outputRecords],
  [['shuffleReadMetrics'], 'readBytes', D_READ_BYTES],
  [['shuffleReadMetrics'], 'readRecords', M.shuffleRecordsRead],
  [['shuffleReadMetrics'], 'remoteBlocksFetched', M.remoteBlocksFetched],
  [['shuffleReadMetrics'], 'localBlocksFetched', M.localBlocksFetched],
  [['shuffleReadMetrics'], 'fetchWaitTime', M.fetchWaitTime],
  [['shuffleReadMetrics'], 'remoteBytesRead', M.remoteBytesRead],
  [['shuffleReadMetrics'], 'remoteBytesReadToDisk', M.remoteBytesReadToDisk],
  [['shuffleReadMetrics'], 'totalBlocksFetched', D_TOTAL_BLOCKS],
  [['shuffleReadMetrics'], 'remoteReqsDuration', M.remoteReqsDuration],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'corruptMergedBlockChunks',
    M.corruptMergedBlockChunks,
  ],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'mergedFetchFallbackCount',
    M.mergedFetchFallbackCount,
  ],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'remoteMergedBlocksFetched',
    M.remoteMergedBlocksFetched,
  ],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'localMergedBlocksFetched',
    M.localMergedBlocksFetched,
  ],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'remoteMergedChunksFetched',
    M.remoteMergedChunksFetched,
  ],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'localMergedChunksFetched',
    M.localMergedChunksFetched,
  ],
  [['shuffleReadMetrics', 'shufflePushReadMetricsDist'], 'remoteMergedBytesRead', M.remoteMergedBytesRead],
  [['shuffleReadMetrics', 'shufflePushReadMetricsDist'], 'localMergedBytesRead', M.localMergedBytesRead],
  [
    ['shuffleReadMetrics', 'shufflePushReadMetricsDist'],
    'remoteMergedReqsDuration',
    M.remoteMergedReqsDuration,
  ],
  [['shuffleWriteMetrics'], 'writeBytes', M.shuffleBytesWritten],
  [['shuffleWriteMetrics'], 'writeRecords', M.shuffleRecordsWritten],
  [['shuffleWriteMetrics'], 'writeTime', M.shuffleWriteTime],
];

interface LiveJob {
  data: JobData;
  /**
   * The task counts, kept here while the job runs and copied into `data` at the end: every job's `data`
   * does not have one shape (optional fields), and the per-task path should see one.
   */
  numActiveTasks: number;
  numCompletedTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  stageIdSet: Set<number>;
  completedStages: Set<number>;
  skippedStages: Set<number>;
  completedIndices: StageIndexSet;
  killed: Map<string, number>;
  /**
   * The job as the History Server last wrote it once it ended: at its end, and again whenever a task end
   * finishes one of its stages. Tasks that end after the job without finishing a stage (speculative copies
   * killed, tasks of a cancelled stage) change the live job but not what it serves.
   */
  written: JobData | null;
}

interface LiveExecStageSummary {
  taskTime: number;
  succeededTasks: number;
  failedTasks: number;
  killedTasks: number;
  metrics: Float64Array;
  peak: Float64Array | undefined;
  isExcluded: boolean;
}

interface LiveStage {
  stageId: number;
  attemptId: number;
  info: Json;
  status: StageStatus;
  jobs: LiveJob[];
  jobIds: Set<number>;
  schedulingPool: string;
  description: string | undefined;
  firstLaunchTime: number;
  activeTasks: number;
  completedTasks: number;
  failedTasks: number;
  killedTasks: number;
  completedIndices: IndexSet;
  killed: Map<string, number>;
  metrics: Float64Array;
  execSummaries: Map<string, LiveExecStageSummary>;
  peak: Float64Array | undefined;
  excludedExecutors: Set<string>;
  speculation: {
    numTasks: number;
    numActiveTasks: number;
    numCompletedTasks: number;
    numFailedTasks: number;
    numKilledTasks: number;
  };
  dist: StageDistributions | null;
  finalDist: TaskMetricDistributions | undefined;
  live: boolean;
}

interface LiveExecutor {
  data: ExecutorSummary;
  host: string;
  hasMemoryInfo: boolean;
  peak: Float64Array | undefined;
  excludedInStages: Set<number>;
}

interface LiveSql {
  /** Null until its SparkListenerSQLExecutionStart: a job can name its execution first. */
  data: SqlExecution | null;
  jobs: Map<number, 'running' | 'success' | 'failed'>;
  start?: number;
  endTime?: number;
  /** From the end event: `""` when it ended without error (as Spark 4 logs say). */
  errorMessage?: string;
  /** The plan of the last AQE update, which replaces the one at start. */
  plan?: string;
}

/** Where the replay is reading, for warnings. */
export interface ReplayPosition {
  source: string;
  line: number;
}

/** Options of a replay. */
export interface ReplayOptions {
  /** Values kept exactly per stage and metric before a stage's quantiles become a sketch. */
  exactQuantileValues: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) || 0 : 0);

/** Element-wise peak of executor metrics (Spark reads missing names as 0, so a first update sets them all). */
function updatePeak(target: Float64Array | undefined, src: Float64Array, offset: number): Float64Array {
  const out = target ?? new Float64Array(N_EXECUTOR_METRICS);
  for (let i = 0; i < N_EXECUTOR_METRICS; i++) {
    const v = src[offset + i]!;
    if (v > out[i]!) out[i] = v;
  }
  return out;
}

function peakToRecord(peak: Float64Array): ExecutorMetrics {
  const out: ExecutorMetrics = {};
  for (let i = 0; i < N_EXECUTOR_METRICS; i++) out[EXECUTOR_METRIC_NAMES[i]!] = peak[i]!;
  return out;
}

/** A finished task's time fetching its result, as the History Server's `AppStatusUtils.gettingResultTime`. */
function gettingResultTime(m: Float64Array, launch: number, duration: number): number {
  const fetchStart = m[T.gettingResultTime]!;
  return fetchStart > 0 ? (duration > 0 ? launch + duration - fetchStart : 0) : 0;
}

/** A finished task's scheduler delay, as the History Server's `AppStatusUtils.schedulerDelay`. */
function schedulerDelay(m: Float64Array, duration: number, gettingResult: number): number {
  return Math.max(
    0,
    duration -
      m[M.executorRunTime]! -
      m[M.executorDeserializeTime]! -
      m[M.resultSerializationTime]! -
      gettingResult,
  );
}

/** The driver's JVM and Scala versions, each only when the log gives it (as the History Server serves them). */
function runtimeInfo(jvm: Json): RuntimeInfo {
  const out: RuntimeInfo = {};
  if (typeof jvm['Java Version'] === 'string') out.javaVersion = jvm['Java Version'];
  if (typeof jvm['Java Home'] === 'string') out.javaHome = jvm['Java Home'];
  if (typeof jvm['Scala Version'] === 'string') out.scalaVersion = jvm['Scala Version'];
  return out;
}

/** An object of strings (a map Spark wrote), or `{}`. */
function stringRecord(o: Json): Record<string, string> {
  const out: Record<string, string> = {};
  if (o && typeof o === 'object' && !Array.isArray(o))
    for (const [k, v] of Object.entries(o)) out[k] = String(v);
  return out;
}

/**
 * Int keys in the order a Scala 2.13 `immutable.Map` iterates them, given their insertion order: up to 4
 * entries (`Map1` to `Map4`) in insertion order; from 5, a CHAMP trie, by 5-bit fragments of the improved
 * hash from the lowest, a node's single entries before its sub-nodes.
 */
function scalaImmutableMapOrder(keys: number[]): number[] {
  if (keys.length <= 4) return keys;
  const hashed = keys.map((k) => ({ k, h: scalaImprove(k | 0) >>> 0 }));
  const walk = (entries: { k: number; h: number }[], shift: number): number[] => {
    if (entries.length <= 1 || shift >= 32) return entries.map((e) => e.k);
    const byFragment = new Map<number, { k: number; h: number }[]>();
    for (const e of entries) {
      const f = (e.h >>> shift) & 31;
      const list = byFragment.get(f);
      if (list) list.push(e);
      else byFragment.set(f, [e]);
    }
    const fragments = [...byFragment.keys()].sort((a, b) => a - b);
    const single = fragments
      .filter((f) => byFragment.get(f)!.length === 1)
      .map((f) => byFragment.get(f)![0]!.k);
    const nested = fragments
      .filter((f) => byFragment.get(f)!.length > 1)
      .flatMap((f) => walk(byFragment.get(f)!, shift + 5));
    return [...single, ...nested];
  };
  return walk(hashed, 0);
}

/** `scala.collection.Hashing.improve`, which Scala's immutable HashMap spreads hashes with. */
function scalaImprove(hcode: number): number {
  let h = (hcode + ~(hcode << 9)) | 0;
  h ^= h >>> 14;
  h = (h + (h << 4)) | 0;
  return h ^ (h >>> 10);
}

/** Key of a stage attempt in the replay's maps. */
function stageKey(stageId: number, attemptId: number): number {
  return stageId * 1_000_000 + attemptId;
}

function pairs(section: Json): PropertyPair[] {
  if (!section || typeof section !== 'object') return [];
  return Object.entries(section as Record<string, unknown>).map(([k, v]) => [k, String(v)] as PropertyPair);
}

/**
 * The default of `spark.redaction.regex` in Spark 4.3. The History Server redacts with it again when it
 * serves an environment (a log written with a narrower pattern, or before a key was sensitive, still gets
 * its secrets hidden), matching the key or else the value.
 */
const REDACTION_PATTERN = /secret|password|token|access[.]?key|credential/i;
/** What Spark writes in place of a redacted value. */
const REDACTED_VALUE = '*********(redacted)';

/** Properties with the values the History Server would hide replaced, as it serves them. */
function redacted(pairs: PropertyPair[]): PropertyPair[] {
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    if (v !== REDACTED_VALUE && (REDACTION_PATTERN.test(k) || REDACTION_PATTERN.test(v)))
      pairs[i] = [k, REDACTED_VALUE];
  }
  return pairs;
}

function sortedPairs(section: Json): PropertyPair[] {
  return pairs(section).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function accumulables(list: Json): AccumulableInfo[] {
  if (!Array.isArray(list)) return [];
  const out: AccumulableInfo[] = [];
  for (const a of scalaHashMapOrder(list)) {
    if (!a || a.Internal === true) continue;
    const name = a.Name;
    if (typeof name !== 'string' || name.startsWith('internal.metrics.')) continue;
    const info: AccumulableInfo = {
      id: num(a.ID),
      name,
      value: a.Value === undefined ? '' : String(a.Value),
    };
    if (a.Update !== undefined) info.update = String(a.Update);
    out.push(info);
  }
  return out;
}

/**
 * A stage's accumulables in the order the History Server lists them. Spark reads them into a
 * `scala.collection.mutable.HashMap` keyed by id (`StageInfo.accumulables`) and lists its values as that
 * map iterates (Scala 2.13): by bucket, the hash's low bits, then by hash within a bucket. The table starts
 * at 16 buckets and doubles whenever an insertion would reach 3/4 of them, so the order depends on how many
 * ids the log lists, the internal ones included.
 */
function scalaHashMapOrder(list: Json[]): Json[] {
  const byId = new Map<number, Json>();
  let buckets = 16;
  for (const a of list) {
    if (!a) continue;
    if (byId.size + 1 >= Math.floor(buckets * 0.75)) buckets *= 2;
    byId.set(num(a.ID), a);
  }
  const keyed = [...byId].map(([id, a]) => ({ hash: scalaLongHash(id), a }));
  const mask = buckets - 1;
  keyed.sort((x, y) => (x.hash & mask) - (y.hash & mask) || x.hash - y.hash);
  return keyed.map((k) => k.a);
}

/** Scala's `##` of a Long (the Int itself when it fits, else Java's `Long.hashCode`), then HashMap's spread. */
function scalaLongHash(id: number): number {
  let h: number;
  if (Number.isSafeInteger(id) && id >= -0x80000000 && id <= 0x7fffffff) h = id | 0;
  else {
    const big = BigInt.asUintN(64, BigInt(Math.trunc(id)));
    h = Number(BigInt.asIntN(32, big ^ (big >> 32n)));
  }
  return h ^ (h >>> 16);
}

function emptyMetrics(): Float64Array {
  return new Float64Array(N_METRICS);
}

function addInto(target: Float64Array, delta: Float64Array): void {
  for (let i = 0; i < N_METRICS; i++) target[i]! += delta[i]!;
}

const MAX_SAMPLE_MESSAGES = 3;
const MAX_FAILURE_IDS = 50;

/**
 * Rebuilds one application attempt from its events. Feed events in log order with {@link EventReplayer.event},
 * then call {@link EventReplayer.finish}.
 */
export class EventReplayer {
  private sparkVersion = '';
  /** Databricks' `Spark Version`: not the History Server's `appSparkVersion`, which only LogStart sets. */
  private databricksSparkVersion = '';
  private appId: string | undefined;
  private appName = '';
  private attempt: ApplicationAttemptInfo | undefined;
  private sparkUser = '';
  private defaultCpusPerTask = 1;
  private lastEventTime = 0;
  private readonly jobs = new Map<number, LiveJob>();
  private readonly liveJobs = new Map<number, LiveJob>();
  private readonly stages = new Map<number, LiveStage>();
  private readonly liveStages = new Map<number, LiveStage>();
  private readonly executors = new Map<string, LiveExecutor>();
  private readonly liveExecutors = new Map<string, LiveExecutor>();
  private readonly liveTasks = new TaskIdSet();
  private readonly record = newTaskRecord();
  private readonly scratchPeak = new Float64Array(N_EXECUTOR_METRICS);
  private readonly resourceProfiles = new Map<number, { info: ResourceProfileInfo }>();
  private environment: ApplicationEnvironmentInfo | undefined;
  private readonly sql = new Map<number, LiveSql>();
  private readonly jobToSql = new Map<number, number>();
  private readonly failures = new Map<string, FailureSummary>();
  private readonly sketchValues = new Float64Array(N_DIST);
  /** Set when the log has `SparkListenerApplicationEnd`. */
  completed = false;
  /** Whether any Spark event was seen (used to tell Spark logs from other files). */
  sawSparkEvent = false;
  /** The driver's exit code (Spark 4.0+). */
  exitCode: number | undefined;
  /** Databricks' SparkContext id, kept exactly as a string (it exceeds 2^53). */
  sparkContextId: string | undefined;

  constructor(
    private readonly options: ReplayOptions,
    private readonly stats: CollectionStats,
    private readonly warnings: CollectionWarning[],
  ) {}

  /** The application id, once `SparkListenerApplicationStart` was read. */
  get applicationId(): string | undefined {
    return this.appId;
  }

  /** The attempt id, once known. */
  get attemptId(): string | undefined {
    return this.attempt?.attemptId;
  }

  private warn(pos: ReplayPosition, code: string, message: string): void {
    if (this.warnings.length < 1000)
      this.warnings.push({ source: pos.source, line: pos.line, code, message });
  }

  /** Apply one parsed event. `name` is the event's short name (after the last `.`). */
  event(name: string, e: Json, pos: ReplayPosition): void {
    switch (name) {
      case 'SparkListenerTaskEnd':
        if (!e['Task Info']) return;
        taskRecordFromJson(e, this.record);
        this.taskEnd(this.record, e['Task End Reason'], e);
        return;
      case 'SparkListenerTaskStart':
        if (!e['Task Info']) return;
        taskRecordFromJson(e, this.record);
        this.taskStart(this.record);
        return;
      case 'SparkListenerStageSubmitted':
        this.onStageSubmitted(e);
        return;
      case 'SparkListenerStageCompleted':
        this.onStageCompleted(e);
        return;
      case 'SparkListenerJobStart':
        this.onJobStart(e);
        return;
      case 'SparkListenerJobEnd':
        this.onJobEnd(e);
        return;
      case 'SparkListenerExecutorAdded':
        this.onExecutorAdded(e);
        return;
      case 'SparkListenerExecutorRemoved':
        this.onExecutorRemoved(e);
        return;
      case 'SparkListenerBlockManagerAdded':
        this.onBlockManagerAdded(e);
        return;
      case 'SparkListenerStageExecutorMetrics':
        this.onStageExecutorMetrics(e);
        return;
      case 'SparkListenerLogStart':
        this.sparkVersion = String(e['Spark Version'] ?? '');
        return;
      case 'DBCEventLoggingListenerMetadata':
        this.databricksSparkVersion = String(e['Spark Version'] ?? '');
        if (e['SparkContext Id'] !== undefined) this.sparkContextId = String(e['SparkContext Id']);
        return;
      case 'SparkListenerApplicationStart':
        this.onApplicationStart(e, pos);
        return;
      case 'SparkListenerApplicationEnd':
        this.onApplicationEnd(e);
        return;
      case 'SparkListenerEnvironmentUpdate':
        this.onEnvironmentUpdate(e);
        return;
      case 'SparkListenerResourceProfileAdded':
        this.onResourceProfileAdded(e);
        return;
      case 'SparkListenerExecutorBlacklisted':
      case 'SparkListenerExecutorExcluded':
        this.setExcluded(String(e.executorId), true);
        return;
      case 'SparkListenerExecutorUnblacklisted':
      case 'SparkListenerExecutorUnexcluded':
        this.setExcluded(String(e.executorId), false);
        return;
      case 'SparkListenerNodeBlacklisted':
      case 'SparkListenerNodeExcluded':
        this.setNodeExcluded(String(e.hostId), true);
        return;
      case 'SparkListenerNodeUnblacklisted':
      case 'SparkListenerNodeUnexcluded':
        this.setNodeExcluded(String(e.hostId), false);
        return;
      case 'SparkListenerExecutorBlacklistedForStage':
      case 'SparkListenerExecutorExcludedForStage':
        this.excludeForStage([String(e.executorId)], num(e.stageId), num(e.stageAttemptId));
        return;
      case 'SparkListenerNodeBlacklistedForStage':
      case 'SparkListenerNodeExcludedForStage':
        this.excludeNodeForStage(String(e.hostId), num(e.stageId), num(e.stageAttemptId));
        return;
      case 'SparkListenerSQLExecutionStart':
        this.onSqlStart(e);
        return;
      case 'SparkListenerSQLAdaptiveExecutionUpdate':
        this.onSqlAdaptiveUpdate(e);
        return;
      case 'SparkListenerSQLExecutionEnd':
        this.onSqlEnd(e);
        return;
      default:
        return;
    }
  }

  private onApplicationStart(e: Json, pos: ReplayPosition): void {
    this.sawSparkEvent = true;
    const id = e['App ID'];
    if (typeof id !== 'string' || !id) {
      this.warn(
        pos,
        'missing-app-id',
        'SparkListenerApplicationStart has no "App ID"; the file name is used instead.',
      );
    } else {
      this.appId = id;
    }
    this.appName = String(e['App Name'] ?? '');
    this.sparkUser = String(e.User ?? '');
    const time = num(e.Timestamp);
    this.lastEventTime = Math.max(this.lastEventTime, time);
    const attemptId = e['App Attempt ID'];
    this.attempt = {
      startTime: formatSparkDate(time),
      endTime: formatSparkDate(-1),
      lastUpdated: formatSparkDate(time),
      duration: 0,
      sparkUser: this.sparkUser,
      completed: false,
      appSparkVersion: this.sparkVersion,
      startTimeEpoch: time,
      endTimeEpoch: -1,
      lastUpdatedEpoch: time,
    };
    if (attemptId !== undefined && attemptId !== null)
      this.attempt = { attemptId: String(attemptId), ...this.attempt };
    const logs = e['Driver Logs'];
    if (logs) {
      const driver = this.liveExecutors.get('driver');
      if (driver) {
        driver.data.executorLogs = { ...logs };
        driver.data.attributes = { ...(e['Driver Attributes'] ?? {}) };
      }
    }
  }

  /** Use a fallback id when the log never says its App ID (edited or truncated logs). */
  setFallbackAppId(id: string): void {
    if (!this.appId) this.appId = id;
  }

  private onApplicationEnd(e: Json): void {
    const time = num(e.Timestamp);
    this.completed = true;
    if (typeof e.ExitCode === 'number') this.exitCode = e.ExitCode;
    if (this.attempt) {
      if (this.exitCode !== undefined) this.attempt.exitCode = this.exitCode;
      this.attempt.endTime = formatSparkDate(time);
      this.attempt.endTimeEpoch = time;
      this.attempt.lastUpdated = formatSparkDate(time);
      this.attempt.lastUpdatedEpoch = time;
      this.attempt.duration = time - this.attempt.startTimeEpoch;
      this.attempt.completed = true;
    }
  }

  private onEnvironmentUpdate(e: Json): void {
    this.sawSparkEvent = true;
    const jvm = e['JVM Information'] ?? {};
    const spark = e['Spark Properties'];
    this.environment = {
      runtime: runtimeInfo(jvm),
      sparkProperties: redacted(sortedPairs(spark)),
      hadoopProperties: redacted(sortedPairs(e['Hadoop Properties'])),
      systemProperties: redacted(sortedPairs(e['System Properties'])),
      metricsProperties: redacted(sortedPairs(e['Metrics Properties'])),
      classpathEntries: sortedPairs(e['Classpath Entries']),
      resourceProfiles: [],
    };
    // Spark 4.3 reads spark.task.cpus as a decimal (fractional CPUs per task); an unreadable value is ignored.
    const cpus = Number(spark?.['spark.task.cpus']);
    if (Number.isFinite(cpus) && cpus > 0) this.defaultCpusPerTask = cpus;
  }

  private onResourceProfileAdded(e: Json): void {
    const id = num(e['Resource Profile Id']);
    const executorResources: ResourceProfileInfo['executorResources'] = {};
    for (const [k, v] of Object.entries((e['Executor Resource Requests'] ?? {}) as Record<string, Json>)) {
      executorResources[k] = {
        resourceName: String(v['Resource Name'] ?? k),
        amount: num(v.Amount),
        discoveryScript: String(v['Discovery Script'] ?? ''),
        vendor: String(v.Vendor ?? ''),
      };
    }
    const taskResources: ResourceProfileInfo['taskResources'] = {};
    for (const [k, v] of Object.entries((e['Task Resource Requests'] ?? {}) as Record<string, Json>)) {
      taskResources[k] = { resourceName: String(v['Resource Name'] ?? k), amount: num(v.Amount) };
    }
    this.resourceProfiles.set(id, { info: { id, executorResources, taskResources } });
  }

  private getOrCreateExecutor(id: string, time: number): LiveExecutor {
    let exec = this.liveExecutors.get(id);
    if (!exec) {
      exec = {
        host: '',
        hasMemoryInfo: false,
        peak: undefined,
        excludedInStages: new Set(),
        data: {
          id,
          hostPort: '',
          isActive: true,
          rddBlocks: 0,
          memoryUsed: 0,
          diskUsed: 0,
          totalCores: 0,
          maxTasks: 0,
          activeTasks: 0,
          failedTasks: 0,
          completedTasks: 0,
          totalTasks: 0,
          totalDuration: 0,
          totalGCTime: 0,
          totalInputBytes: 0,
          totalShuffleRead: 0,
          totalShuffleWrite: 0,
          isBlacklisted: false,
          maxMemory: 0,
          addTime: formatSparkDate(time),
          executorLogs: {},
          blacklistedInStages: [],
          attributes: {},
          resources: {},
          resourceProfileId: 0,
          isExcluded: false,
          excludedInStages: [],
        },
      };
      this.liveExecutors.set(id, exec);
      this.executors.set(id, exec);
    }
    return exec;
  }

  private onExecutorAdded(e: Json): void {
    this.sawSparkEvent = true;
    const id = String(e['Executor ID']);
    const time = num(e.Timestamp);
    const exec = this.getOrCreateExecutor(id, time);
    const info = e['Executor Info'] ?? {};
    exec.host = String(info.Host ?? '');
    exec.data.isActive = true;
    exec.data.totalCores = num(info['Total Cores']);
    const rpId = num(info['Resource Profile Id']);
    // As a History Server replaying a log: the executor's cores over its profile's CPUs per task (or
    // spark.task.cpus). It never uses a profile's own task limit there, as a profile read from a log does
    // not know its executors' cores.
    const rpCpus = this.resourceProfiles.get(rpId)?.info.taskResources.cpus?.amount;
    const cpusPerTask = rpCpus !== undefined && rpCpus > 0 ? rpCpus : this.defaultCpusPerTask;
    // Spark divides decimals (scale 9): the small epsilon undoes binary rounding (3 / 0.1 is 29.999...).
    exec.data.maxTasks = Math.min(2 ** 31 - 1, Math.floor(exec.data.totalCores / cpusPerTask + 1e-9));
    exec.data.executorLogs = { ...(info['Log Urls'] ?? {}) };
    exec.data.attributes = { ...(info.Attributes ?? {}) };
    const resources: Record<string, ResourceInformation> = {};
    for (const [k, v] of Object.entries((info.Resources ?? {}) as Record<string, Json>)) {
      resources[k] = {
        name: String(v.name ?? k),
        addresses: Array.isArray(v.addresses) ? v.addresses.map(String) : [],
      };
    }
    exec.data.resources = resources;
    exec.data.resourceProfileId = rpId;
  }

  private onExecutorRemoved(e: Json): void {
    const id = String(e['Executor ID']);
    const exec = this.liveExecutors.get(id);
    if (!exec) return;
    this.liveExecutors.delete(id);
    exec.data.isActive = false;
    exec.data.removeTime = formatSparkDate(num(e.Timestamp));
    exec.data.removeReason = String(e['Removed Reason'] ?? '');
  }

  private onBlockManagerAdded(e: Json): void {
    this.sawSparkEvent = true;
    const bm = e['Block Manager ID'] ?? {};
    const exec = this.getOrCreateExecutor(String(bm['Executor ID']), num(e.Timestamp));
    exec.data.hostPort = `${bm.Host ?? ''}:${bm.Port ?? ''}`;
    if (exec.host === '') exec.host = String(bm.Host ?? '');
    const onHeap = e['Maximum Onheap Memory'];
    if (onHeap !== undefined) {
      exec.hasMemoryInfo = true;
      exec.data.memoryMetrics = {
        usedOnHeapStorageMemory: 0,
        usedOffHeapStorageMemory: 0,
        totalOnHeapStorageMemory: num(onHeap),
        totalOffHeapStorageMemory: num(e['Maximum Offheap Memory']),
      };
    }
    exec.data.isActive = true;
    exec.data.maxMemory = num(e['Maximum Memory']);
  }

  private setExcluded(execId: string, excluded: boolean): void {
    const exec = this.liveExecutors.get(execId);
    if (exec) {
      exec.data.isExcluded = excluded;
      exec.data.isBlacklisted = excluded;
    }
  }

  private setNodeExcluded(host: string, excluded: boolean): void {
    for (const exec of this.liveExecutors.values()) {
      // The driver is never excluded with its node (it shares the host in local-cluster and client mode).
      if (exec.host === host && exec.data.id !== 'driver') {
        exec.data.isExcluded = excluded;
        exec.data.isBlacklisted = excluded;
      }
    }
  }

  private excludeForStage(execIds: string[], stageId: number, attemptId: number): void {
    const stage = this.liveStages.get(stageKey(stageId, attemptId));
    if (stage) {
      for (const id of execIds) {
        this.execSummary(stage, id).isExcluded = true;
        stage.excludedExecutors.add(id);
      }
    }
  }

  private excludeNodeForStage(host: string, stageId: number, attemptId: number): void {
    const ids: string[] = [];
    for (const exec of this.liveExecutors.values()) if (exec.host === host) ids.push(exec.data.id);
    this.excludeForStage(ids, stageId, attemptId);
    for (const exec of this.liveExecutors.values())
      if (exec.host === host) exec.excludedInStages.add(stageId);
  }

  private getOrCreateStage(info: Json): LiveStage {
    const stageId = num(info['Stage ID']);
    const attemptId = num(info['Stage Attempt ID']);
    const key = stageKey(stageId, attemptId);
    let stage = this.liveStages.get(key);
    if (!stage) {
      stage = {
        stageId,
        attemptId,
        info,
        status: 'PENDING',
        jobs: [],
        jobIds: new Set(),
        schedulingPool: 'default',
        description: undefined,
        firstLaunchTime: Number.POSITIVE_INFINITY,
        activeTasks: 0,
        completedTasks: 0,
        failedTasks: 0,
        killedTasks: 0,
        completedIndices: new IndexSet(num(info['Number of Tasks'])),
        killed: new Map(),
        metrics: emptyMetrics(),
        execSummaries: new Map(),
        peak: undefined,
        excludedExecutors: new Set(),
        speculation: {
          numTasks: 0,
          numActiveTasks: 0,
          numCompletedTasks: 0,
          numFailedTasks: 0,
          numKilledTasks: 0,
        },
        dist: null,
        finalDist: undefined,
        live: true,
      };
      this.liveStages.set(key, stage);
      // A stage written again (a new LiveStage for the same key) replaces the old record, as in Spark's store.
      this.stages.set(key, stage);
    }
    stage.info = info;
    return stage;
  }

  private execSummary(stage: LiveStage, execId: string): LiveExecStageSummary {
    let s = stage.execSummaries.get(execId);
    if (!s) {
      s = {
        taskTime: 0,
        succeededTasks: 0,
        failedTasks: 0,
        killedTasks: 0,
        metrics: emptyMetrics(),
        peak: undefined,
        isExcluded: false,
      };
      stage.execSummaries.set(execId, s);
    }
    return s;
  }

  private onJobStart(e: Json): void {
    this.sawSparkEvent = true;
    const jobId = num(e['Job ID']);
    const infos: Json[] = Array.isArray(e['Stage Infos']) ? e['Stage Infos'] : [];
    let numTasks = 0;
    for (const i of infos) if (i['Completion Time'] === undefined) numTasks += num(i['Number of Tasks']);
    let last: Json;
    for (const i of infos) if (!last || num(i['Stage ID']) >= num(last['Stage ID'])) last = i;
    const props = e.Properties ?? {};
    const time = num(e['Submission Time']);
    const stageIds: number[] = Array.isArray(e['Stage IDs'])
      ? e['Stage IDs'].map(num)
      : infos.map((i) => num(i['Stage ID']));
    const tags = props['spark.job.tags'];
    const data: JobData = {
      jobId,
      name: last ? String(last['Stage Name'] ?? '') : '',
      stageIds,
      jobTags: typeof tags === 'string' && tags ? tags.split(',').sort() : [],
      status: 'RUNNING',
      numTasks,
      numActiveTasks: 0,
      numCompletedTasks: 0,
      numSkippedTasks: 0,
      numFailedTasks: 0,
      numKilledTasks: 0,
      numCompletedIndices: 0,
      numActiveStages: 0,
      numCompletedStages: 0,
      numSkippedStages: 0,
      numFailedStages: 0,
      killedTasksSummary: {},
    };
    if (props['spark.job.description'] !== undefined)
      data.description = String(props['spark.job.description']);
    if (time > 0) data.submissionTime = formatSparkDate(time);
    if (props['spark.jobGroup.id'] !== undefined) data.jobGroup = String(props['spark.jobGroup.id']);
    const sqlId = props['spark.sql.execution.id'];
    if (sqlId !== undefined && sqlId !== null && sqlId !== '') {
      data.sqlExecutionId = Number(sqlId);
      this.jobToSql.set(jobId, data.sqlExecutionId);
      // A job may start before its execution's start event (Databricks): kept for it, as the History
      // Server's SQLAppStatusListener does (getOrCreateExecution).
      let sql = this.sql.get(data.sqlExecutionId);
      if (!sql) {
        sql = { data: null, jobs: new Map() };
        this.sql.set(data.sqlExecutionId, sql);
      }
      sql.jobs.set(jobId, 'running');
    }
    const job: LiveJob = {
      data,
      numActiveTasks: 0,
      numCompletedTasks: 0,
      numFailedTasks: 0,
      numKilledTasks: 0,
      stageIdSet: new Set(stageIds),
      completedStages: new Set(),
      skippedStages: new Set(),
      completedIndices: new StageIndexSet(),
      killed: new Map(),
      written: null,
    };
    this.jobs.set(jobId, job);
    this.liveJobs.set(jobId, job);
    for (const info of infos) {
      const stage = this.getOrCreateStage(info);
      stage.jobs.push(job);
      stage.jobIds.add(jobId);
    }
  }

  private onJobEnd(e: Json): void {
    const jobId = num(e['Job ID']);
    const job = this.liveJobs.get(jobId);
    if (!job) return;
    this.liveJobs.delete(jobId);
    for (const [key, stage] of this.liveStages) {
      if (job.stageIdSet.has(stage.stageId) && stage.status === 'PENDING') {
        stage.status = 'SKIPPED';
        job.skippedStages.add(stage.stageId);
        job.data.numSkippedTasks += num(stage.info['Number of Tasks']);
        // Never counted as active, as it never ran: no numActiveStages change (SPARK-41683, as in Spark 4.3).
        this.liveStages.delete(key);
        stage.live = false;
      }
    }
    const result = e['Job Result']?.Result;
    const status: JobExecutionStatus = result === 'JobSucceeded' ? 'SUCCEEDED' : 'FAILED';
    job.data.status = status;
    const time = num(e['Completion Time']);
    if (time > 0) job.data.completionTime = formatSparkDate(time);
    const sqlId = this.jobToSql.get(jobId);
    if (sqlId !== undefined)
      this.sql.get(sqlId)?.jobs.set(jobId, status === 'SUCCEEDED' ? 'success' : 'failed');
    job.written = this.jobToApi(job);
  }

  private onStageSubmitted(e: Json): void {
    this.sawSparkEvent = true;
    const info = e['Stage Info'];
    if (!info) return;
    const stage = this.getOrCreateStage(info);
    stage.status = 'ACTIVE';
    const props = e.Properties ?? {};
    stage.schedulingPool = props['spark.scheduler.pool'] ?? 'default';
    stage.jobs = [];
    stage.jobIds = new Set();
    for (const job of this.liveJobs.values()) {
      if (job.stageIdSet.has(stage.stageId)) {
        stage.jobs.push(job);
        stage.jobIds.add(job.data.jobId);
      }
    }
    stage.description = props['spark.job.description'];
    for (const job of stage.jobs) {
      job.completedStages.delete(stage.stageId);
      job.data.numActiveStages += 1;
    }
  }

  private onStageCompleted(e: Json): void {
    const info = e['Stage Info'];
    if (!info) return;
    const key = stageKey(num(info['Stage ID']), num(info['Stage Attempt ID']));
    const stage = this.liveStages.get(key);
    if (!stage) return;
    stage.info = info;
    stage.status =
      info['Failure Reason'] !== undefined
        ? 'FAILED'
        : info['Submission Time'] !== undefined
          ? 'COMPLETE'
          : 'SKIPPED';
    for (const job of stage.jobs) {
      if (stage.status === 'COMPLETE') job.completedStages.add(stage.stageId);
      else if (stage.status === 'SKIPPED') {
        job.skippedStages.add(stage.stageId);
        job.data.numSkippedTasks += num(info['Number of Tasks']);
      } else job.data.numFailedStages += 1;
      job.data.numActiveStages -= 1;
    }
    for (const id of stage.excludedExecutors)
      this.liveExecutors.get(id)?.excludedInStages.delete(stage.stageId);
    if (stage.activeTasks === 0) this.retireStage(key, stage);
  }

  private retireStage(key: number, stage: LiveStage): void {
    this.liveStages.delete(key);
    stage.live = false;
    stage.finalDist = this.distributions(stage);
    stage.dist?.release();
    stage.dist = null;
    stage.completedIndices.release();
  }

  /** Apply a task start read into a {@link TaskRecord}. */
  taskStart(rec: TaskRecord): void {
    this.sawSparkEvent = true;
    const v = rec.values;
    const execId = rec.executorId;
    const speculative = v[T.speculative] === 1;
    this.liveTasks.add(v[T.taskId]!);
    const launch = v[T.launchTime]!;
    if (launch > this.lastEventTime) this.lastEventTime = launch;
    const stage = this.liveStages.get(stageKey(v[T.stageId]!, v[T.stageAttemptId]!));
    if (stage) {
      stage.activeTasks += 1;
      if (launch < stage.firstLaunchTime) stage.firstLaunchTime = launch;
      if (speculative) {
        stage.speculation.numTasks += 1;
        stage.speculation.numActiveTasks += 1;
      }
      for (const job of stage.jobs) job.numActiveTasks += 1;
    }
    const exec = this.liveExecutors.get(execId);
    if (exec) {
      exec.data.activeTasks += 1;
      exec.data.totalTasks += 1;
    }
  }

  /**
   * Apply a task end read into a {@link TaskRecord}. `reasonObj` is the parsed `Task End Reason` (absent
   * for a success read by the scanner); `e` the parsed event, for failure details.
   */
  taskEnd(rec: TaskRecord, reasonObj?: Json, e?: Json): void {
    this.sawSparkEvent = true;
    this.stats.tasks++;
    const v = rec.values;
    const live = this.liveTasks.delete(v[T.taskId]!);
    const reason: string = reasonObj?.Reason ?? 'Success';
    let completed = 0;
    let failed = 0;
    let killed = 0;
    if (reason === 'Success') completed = 1;
    else if (reason === 'TaskKilled' || reason === 'TaskCommitDenied') killed = 1;
    else failed = 1;
    if (!completed) this.recordFailure(reason, reasonObj, e);

    const hasMetrics = v[T.hasMetrics] === 1;
    const countMetrics = live && hasMetrics;
    const launch = v[T.launchTime]!;
    const finish = v[T.finishTime]!;
    const duration = finish > 0 ? finish - launch : 0;
    if (finish > this.lastEventTime) this.lastEventTime = finish;
    const execId = rec.executorId;
    const index = v[T.index]!;
    const stageId = v[T.stageId]!;
    const key = stageKey(stageId, v[T.stageAttemptId]!);
    const stage = this.liveStages.get(key);
    if (stage) {
      if (countMetrics) addInto(stage.metrics, v);
      stage.activeTasks -= 1;
      stage.completedTasks += completed;
      if (completed) stage.completedIndices.add(index);
      stage.failedTasks += failed;
      stage.killedTasks += killed;
      if (killed) bump(stage.killed, killReason(reasonObj));
      stage.peak = updatePeak(stage.peak, v, T.executorMetrics);
      const es = this.execSummary(stage, execId);
      es.peak = updatePeak(es.peak, v, T.executorMetrics);
      es.taskTime += duration;
      es.succeededTasks += completed;
      es.failedTasks += failed;
      es.killedTasks += killed;
      if (countMetrics) addInto(es.metrics, v);
      if (v[T.speculative] === 1) {
        const s = stage.speculation;
        s.numActiveTasks -= 1;
        s.numCompletedTasks += completed;
        s.numFailedTasks += failed;
        s.numKilledTasks += killed;
      }
      for (const job of stage.jobs) {
        job.numActiveTasks -= 1;
        job.numCompletedTasks += completed;
        if (completed) job.completedIndices.add(stageId, index);
        job.numFailedTasks += failed;
        job.numKilledTasks += killed;
        if (killed) bump(job.killed, killReason(reasonObj));
      }
      // As the History Server: a task it saw start, with zeros for metrics its end does not carry (Spark's
      // JsonProtocol reads a missing "Task Metrics" as empty metrics).
      if (live) {
        if (completed) this.addToDistributions(stage, v, launch, duration);
        else this.addOtherToDistributions(stage, v, launch, duration);
      }
      if (stage.activeTasks === 0 && (stage.status === 'COMPLETE' || stage.status === 'FAILED')) {
        this.retireStage(key, stage);
        for (const job of stage.jobs) if (job.written !== null) job.written = this.jobToApi(job);
      }
    }
    const exec = this.liveExecutors.get(execId);
    if (exec) {
      exec.data.activeTasks -= 1;
      exec.data.completedTasks += completed;
      exec.data.failedTasks += failed;
      exec.data.totalDuration += duration;
      exec.peak = updatePeak(exec.peak, v, T.executorMetrics);
      if (reason !== 'Resubmitted' && hasMetrics) {
        exec.data.totalGCTime += v[M.jvmGcTime]!;
        exec.data.totalInputBytes += v[M.inputBytes]!;
        exec.data.totalShuffleRead += v[M.localBytesRead]! + v[M.remoteBytesRead]!;
        exec.data.totalShuffleWrite += v[M.shuffleBytesWritten]!;
      }
    }
  }

  private addToDistributions(stage: LiveStage, m: Float64Array, launch: number, duration: number): void {
    const dist = this.distributionsOf(stage);
    const v = this.sketchValues;
    for (let i = 0; i < N_METRICS; i++) v[i] = m[i]!; // no view object per task, as `set(subarray)` makes
    const gettingResult = gettingResultTime(m, launch, duration);
    v[D_DURATION] = duration;
    v[D_GETTING_RESULT] = gettingResult;
    v[D_SCHEDULER_DELAY] = schedulerDelay(m, duration, gettingResult);
    v[D_READ_BYTES] = m[M.localBytesRead]! + m[M.remoteBytesRead]!;
    v[D_TOTAL_BLOCKS] = m[M.localBlocksFetched]! + m[M.remoteBlocksFetched]!;
    dist.add(v);
  }

  /** The stage's task-metric estimator, made with its first finished task. */
  private distributionsOf(stage: LiveStage): StageDistributions {
    if (stage.dist === null) stage.dist = new StageDistributions(N_DIST, this.options.exactQuantileValues);
    return stage.dist;
  }

  /**
   * A finished task that did not succeed: the History Server still sorts its duration, scheduler delay and
   * getting-result time into those quantiles (AppStatusStore's `taskSummary` scans indexes of every task
   * there, while the other metrics of such a task are negative in its store and left out).
   */
  private addOtherToDistributions(stage: LiveStage, m: Float64Array, launch: number, duration: number): void {
    const dist = this.distributionsOf(stage);
    dist.addOther(D_DURATION, duration);
    const gettingResult = gettingResultTime(m, launch, duration);
    dist.addOther(D_GETTING_RESULT, gettingResult);
    dist.addOther(D_SCHEDULER_DELAY, schedulerDelay(m, duration, gettingResult));
  }

  private distributions(stage: LiveStage): TaskMetricDistributions | undefined {
    const d = stage.dist;
    if (!d || d.count === 0) return undefined;
    // Filled from a table, one call of `quantiles` in a loop: written out, the 38 calls made this a large
    // function for V8 to compile (in every worker thread) for one call per stage.
    const out: Record<string, unknown> = {};
    out.quantiles = STAGE_QUANTILES.slice();
    for (const [path, field, column] of DIST_FIELDS) {
      let section = out;
      for (const name of path) section = (section[name] ??= {}) as Record<string, unknown>;
      section[field] = d.quantiles(column, STAGE_QUANTILES);
    }
    return out as unknown as TaskMetricDistributions;
  }

  private onStageExecutorMetrics(e: Json): void {
    const execId = String(e['Executor ID']);
    const exec = this.liveExecutors.get(execId) ?? this.executors.get(execId);
    const m = this.scratchPeak;
    readExecutorMetrics(e['Executor Metrics'], m, 0);
    if (exec) exec.peak = updatePeak(exec.peak, m, 0);
    const stage = this.liveStages.get(stageKey(num(e['Stage ID']), num(e['Stage Attempt ID'])));
    if (stage) {
      stage.peak = updatePeak(stage.peak, m, 0);
      const es = this.execSummary(stage, execId);
      es.peak = updatePeak(es.peak, m, 0);
    }
  }

  private recordFailure(reason: string, r: Json, e: Json): void {
    let className: string | null = null;
    let message = '';
    switch (reason) {
      case 'ExceptionFailure':
        className = r?.['Class Name'] ?? null;
        message = String(r?.Description ?? '');
        break;
      case 'FetchFailed':
        message = String(r?.Message ?? '');
        break;
      case 'ExecutorLostFailure':
        message = String(r?.['Loss Reason'] ?? '');
        break;
      case 'TaskKilled':
        className = killReason(r);
        message = className;
        break;
      default:
        message = reason;
    }
    const key = `${reason}\u0000${className ?? ''}`;
    let f = this.failures.get(key);
    if (!f) {
      f = { reason, className, count: 0, stageIds: [], executorIds: [], sampleMessages: [] };
      this.failures.set(key, f);
    }
    f.count++;
    const stageId = num(e['Stage ID']);
    if (f.stageIds.length < MAX_FAILURE_IDS && !f.stageIds.includes(stageId)) f.stageIds.push(stageId);
    const execId = String(e['Task Info']?.['Executor ID'] ?? '');
    if (execId && f.executorIds.length < MAX_FAILURE_IDS && !f.executorIds.includes(execId))
      f.executorIds.push(execId);
    if (message && f.sampleMessages.length < MAX_SAMPLE_MESSAGES && !f.sampleMessages.includes(message)) {
      f.sampleMessages.push(message.length > 2000 ? `${message.slice(0, 2000)}…` : message);
    }
  }

  private onSqlStart(e: Json): void {
    const id = num(e.executionId);
    const time = num(e.time);
    const data: SqlExecution = {
      id,
      status: 'RUNNING',
      description: String(e.description ?? ''),
      details: String(e.details ?? ''),
      planDescription: String(e.physicalPlanDescription ?? ''),
      submissionTime: formatSparkDate(time),
      runningJobIds: [],
      successJobIds: [],
      failedJobIds: [],
      // Redacted by Spark when it wrote them (SQLConf.redactOptions).
      modifiedConfigs: stringRecord(e.modifiedConfigs),
      // Its own id when it is not nested, as the History Server serves it.
      rootExecutionId:
        e.rootExecutionId !== undefined && e.rootExecutionId !== null ? num(e.rootExecutionId) : id,
    };
    if (typeof e.queryId === 'string') data.queryId = e.queryId;
    const s = this.sql.get(id);
    if (s) {
      s.data = data;
      s.start = time;
    } else this.sql.set(id, { data, jobs: new Map(), start: time });
  }

  private onSqlEnd(e: Json): void {
    const s = this.sql.get(num(e.executionId));
    if (!s) return;
    s.endTime = num(e.time);
    if (typeof e.errorMessage === 'string') s.errorMessage = e.errorMessage;
  }

  /** AQE re-planned the query: the History Server shows the plan of the last update. */
  private onSqlAdaptiveUpdate(e: Json): void {
    const s = this.sql.get(num(e.executionId));
    if (s && typeof e.physicalPlanDescription === 'string') s.plan = e.physicalPlanDescription;
  }

  /**
   * Build the model. `lastUpdated` is the time of the last event read when the log is incomplete.
   * `logSource` is the folder the log was read from (a `file:` URL), when it was read from a file.
   */
  finish(sources: string[], logSource?: string): ApplicationAttemptModel {
    // Every stage's task summary is computed here, not in `stageToApi`: a smaller function to compile.
    for (const stage of this.stages.values()) {
      if (stage.live || stage.finalDist === undefined) stage.finalDist = this.distributions(stage);
    }
    const attempt = this.attempt ?? {
      startTime: formatSparkDate(-1),
      endTime: formatSparkDate(-1),
      lastUpdated: formatSparkDate(this.lastEventTime || -1),
      duration: 0,
      sparkUser: this.sparkUser,
      completed: false,
      appSparkVersion: this.sparkVersion,
      startTimeEpoch: -1,
      endTimeEpoch: -1,
      lastUpdatedEpoch: this.lastEventTime || -1,
    };
    if (logSource !== undefined) {
      attempt.logSourceName = logSource;
      attempt.logSourceFullPath = logSource;
    }
    if (!attempt.completed && this.lastEventTime > attempt.lastUpdatedEpoch) {
      attempt.lastUpdatedEpoch = this.lastEventTime;
      attempt.lastUpdated = formatSparkDate(this.lastEventTime);
    }
    const appId = this.appId ?? '';
    const model: ApplicationAttemptModel = {
      appId,
      application: { id: appId, name: this.appName, attempts: [attempt] },
      jobs: [...this.jobs.values()]
        .map((j) => j.written ?? this.jobToApi(j))
        .sort((a, b) => b.jobId - a.jobId),
      stages: [...this.stages.values()]
        .map((s) => this.stageToApi(s))
        .sort((a, b) => b.stageId - a.stageId || b.attemptId - a.attemptId),
      executors: [...this.executors.values()]
        .map((x) => this.executorToApi(x, attempt))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      environment: this.environmentToApi(),
      sql: [...this.sql.values()]
        .filter((s): s is LiveSql & { data: SqlExecution } => s.data !== null)
        .map((s) => this.sqlToApi(s))
        .sort((a, b) => a.id - b.id),
      failures: [...this.failures.values()].sort((a, b) => b.count - a.count),
      sources,
      stats: this.stats,
      warnings: this.warnings,
    };
    if (attempt.attemptId !== undefined) model.attemptId = attempt.attemptId;
    if (this.sparkContextId !== undefined) model.sparkContextId = this.sparkContextId;
    const sparkVersion = this.sparkVersion || this.databricksSparkVersion;
    if (sparkVersion) model.sparkVersion = sparkVersion;
    if (this.exitCode !== undefined) model.exitCode = this.exitCode;
    return model;
  }

  private jobToApi(job: LiveJob): JobData {
    const d = job.data;
    return {
      ...d,
      numActiveTasks: job.numActiveTasks,
      numCompletedTasks: job.numCompletedTasks,
      numFailedTasks: job.numFailedTasks,
      numKilledTasks: job.numKilledTasks,
      numCompletedIndices: job.completedIndices.size,
      numCompletedStages: job.completedStages.size,
      numSkippedStages: job.skippedStages.size,
      killedTasksSummary: Object.fromEntries(job.killed),
    };
  }

  private environmentToApi(): ApplicationEnvironmentInfo {
    const env: ApplicationEnvironmentInfo = this.environment ?? {
      runtime: {},
      sparkProperties: [],
      hadoopProperties: [],
      systemProperties: [],
      metricsProperties: [],
      classpathEntries: [],
      resourceProfiles: [],
    };
    return {
      ...env,
      resourceProfiles: [...this.resourceProfiles.values()].map((r) => r.info).sort((a, b) => a.id - b.id),
    };
  }

  private executorToApi(x: LiveExecutor, attempt: ApplicationAttemptInfo): ExecutorSummary {
    const d: ExecutorSummary = {
      ...x.data,
      excludedInStages: [...x.excludedInStages].sort((a, b) => a - b),
      blacklistedInStages: [...x.excludedInStages].sort((a, b) => a - b),
    };
    if (x.peak) d.peakMemoryMetrics = peakToRecord(x.peak);
    if (d.id === 'driver') {
      // As the History Server reports the driver (AppStatusStore.replaceExec): its duration is the
      // application's, its GC time the JVM's total.
      if (attempt.startTimeEpoch > 0) {
        const end = attempt.completed ? attempt.endTimeEpoch : attempt.lastUpdatedEpoch;
        d.totalDuration = end - attempt.startTimeEpoch;
      }
      if (x.peak) d.totalGCTime = x.peak[EXECUTOR_METRIC_NAMES.indexOf('TotalGCTime')]!;
    }
    return d;
  }

  private sqlToApi(s: LiveSql & { data: SqlExecution }): SqlExecution {
    const d: SqlExecution = { ...s.data, runningJobIds: [], successJobIds: [], failedJobIds: [] };
    if (s.plan !== undefined) d.planDescription = s.plan;
    if (s.endTime !== undefined) d.duration = s.endTime - (s.start ?? s.endTime);
    if (s.errorMessage !== undefined) d.errorMessage = s.errorMessage;
    // In the order the History Server lists them: it walks its Scala map of the execution's jobs.
    for (const jobId of scalaImmutableMapOrder([...s.jobs.keys()])) {
      const st = s.jobs.get(jobId);
      if (st === 'running') d.runningJobIds.push(jobId);
      else if (st === 'success') d.successJobIds.push(jobId);
      else d.failedJobIds.push(jobId);
    }
    // SQLExecutionUIData.executionStatus: an error message ("" for none, as Spark 4 logs say) decides; without one,
    // a failed job does.
    if (s.endTime !== undefined) {
      const failed = d.errorMessage !== undefined ? d.errorMessage !== '' : d.failedJobIds.length > 0;
      d.status = failed ? 'FAILED' : 'COMPLETED';
    }
    return d;
  }

  private stageToApi(s: LiveStage): StageData {
    const info = s.info;
    const d = {
      status: s.status,
      stageId: s.stageId,
      attemptId: s.attemptId,
      numTasks: num(info['Number of Tasks']),
      numActiveTasks: s.activeTasks,
      numCompleteTasks: s.completedTasks,
      numFailedTasks: s.failedTasks,
      numKilledTasks: s.killedTasks,
      numCompletedIndices: s.completedIndices.size,
    } as StageData;
    // The aggregate metrics come from a table: written out, they made this one of the largest functions
    // V8 compiles (in every worker thread) for one call per stage.
    setMetricFields(d, STAGE_METRIC_FIELDS, s.metrics);
    d.name = String(info['Stage Name'] ?? '');
    d.details = String(info.Details ?? '');
    d.schedulingPool = s.schedulingPool;
    d.rddIds = Array.isArray(info['RDD Info']) ? info['RDD Info'].map((r: Json) => num(r['RDD ID'])) : [];
    d.accumulatorUpdates = accumulables(info.Accumulables);
    d.executorSummary = executorStageSummaries(s);
    d.killedTasksSummary = Object.fromEntries(s.killed);
    d.resourceProfileId = num(info['Resource Profile Id']);
    d.isShufflePushEnabled = info['Shuffle Push Enabled'] === true;
    d.shuffleMergersCount = num(info['Shuffle Push Mergers Count']);
    d.parentIds = Array.isArray(info['Parent IDs']) ? info['Parent IDs'].map(num) : [];
    d.jobIds = [...s.jobIds].sort((a, b) => a - b);
    const submission = info['Submission Time'];
    const completion = info['Completion Time'];
    if (submission !== undefined) d.submissionTime = formatSparkDate(num(submission));
    if (Number.isFinite(s.firstLaunchTime)) d.firstTaskLaunchedTime = formatSparkDate(s.firstLaunchTime);
    if (completion !== undefined) d.completionTime = formatSparkDate(num(completion));
    if (info['Failure Reason'] !== undefined) d.failureReason = String(info['Failure Reason']);
    if (s.description !== undefined) d.description = s.description;
    if (s.speculation.numTasks > 0) d.speculationSummary = { ...s.speculation };
    if (s.peak) d.peakExecutorMetrics = peakToRecord(s.peak);
    if (s.finalDist) d.taskMetricsDistributions = s.finalDist;
    return d;
  }
}

/** Sets on `target` each field of `table` from its column of `metrics` (or the sum of its two columns). */
function setMetricFields<T>(target: T, table: MetricFields<T>, metrics: Float64Array): void {
  const fields = target as Record<keyof T, number>;
  for (const [key, column, plus] of table) {
    fields[key] = metrics[column]! + (plus === undefined ? 0 : metrics[plus]!);
  }
}

/** A stage's `executorSummary`: per executor, its tasks' totals in the stage. */
function executorStageSummaries(s: LiveStage): Record<string, ExecutorStageSummary> {
  const executorSummary: Record<string, ExecutorStageSummary> = {};
  for (const [id, es] of s.execSummaries) {
    const summary = {
      taskTime: es.taskTime,
      failedTasks: es.failedTasks,
      succeededTasks: es.succeededTasks,
      killedTasks: es.killedTasks,
    } as ExecutorStageSummary;
    setMetricFields(summary, EXECUTOR_STAGE_METRIC_FIELDS, es.metrics);
    summary.isBlacklistedForStage = es.isExcluded;
    summary.isExcludedForStage = es.isExcluded;
    if (es.peak) summary.peakMemoryMetrics = peakToRecord(es.peak);
    executorSummary[id] = summary;
  }
  return executorSummary;
}

function killReason(r: Json): string {
  if (r?.Reason === 'TaskCommitDenied') {
    return `TaskCommitDenied (Driver denied task commit) for job: ${r['Job ID']}, partition: ${r['Partition ID']}, attemptNumber: ${r['Attempt Number']}`;
  }
  return String(r?.['Kill Reason'] ?? 'unknown reason');
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
