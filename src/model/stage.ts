/**
 * Stage attempts, shaped like the History Server's `StageData`
 * (`/api/v1/applications/{appId}/stages/{stageId}/{attemptId}?withSummaries=true`), without the task list:
 * sparkpilot keeps per-stage aggregates and bounded quantile sketches, never one record per task.
 * @module
 */
import type { ExecutorMetrics } from './metrics.js';

/** Stage status. */
export type StageStatus = 'ACTIVE' | 'COMPLETE' | 'FAILED' | 'PENDING' | 'SKIPPED';

/** A named accumulator's final value on a stage (SQL metrics and user accumulators). */
export interface AccumulableInfo {
  id: number;
  name: string;
  update?: string;
  value: string;
}

/** Per-executor aggregates of one stage attempt (`ExecutorStageSummary`). */
export interface ExecutorStageSummary {
  /** Sum of task durations on this executor, ms. */
  taskTime: number;
  failedTasks: number;
  succeededTasks: number;
  killedTasks: number;
  inputBytes: number;
  inputRecords: number;
  outputBytes: number;
  outputRecords: number;
  shuffleRead: number;
  shuffleReadRecords: number;
  shuffleWrite: number;
  shuffleWriteRecords: number;
  memoryBytesSpilled: number;
  diskBytesSpilled: number;
  isBlacklistedForStage: boolean;
  peakMemoryMetrics?: ExecutorMetrics;
  isExcludedForStage: boolean;
}

/** Quantiles of input metrics over a stage's successful tasks. */
export interface InputMetricDistributions {
  bytesRead: number[];
  recordsRead: number[];
}
/** Quantiles of output metrics over a stage's successful tasks. */
export interface OutputMetricDistributions {
  bytesWritten: number[];
  recordsWritten: number[];
}
/** Quantiles of push-based shuffle read metrics. */
export interface ShufflePushReadMetricDistributions {
  corruptMergedBlockChunks: number[];
  mergedFetchFallbackCount: number[];
  remoteMergedBlocksFetched: number[];
  localMergedBlocksFetched: number[];
  remoteMergedChunksFetched: number[];
  localMergedChunksFetched: number[];
  remoteMergedBytesRead: number[];
  localMergedBytesRead: number[];
  remoteMergedReqsDuration: number[];
}
/** Quantiles of shuffle read metrics. */
export interface ShuffleReadMetricDistributions {
  readBytes: number[];
  readRecords: number[];
  remoteBlocksFetched: number[];
  localBlocksFetched: number[];
  fetchWaitTime: number[];
  remoteBytesRead: number[];
  remoteBytesReadToDisk: number[];
  totalBlocksFetched: number[];
  remoteReqsDuration: number[];
  shufflePushReadMetricsDist: ShufflePushReadMetricDistributions;
}
/** Quantiles of shuffle write metrics. */
export interface ShuffleWriteMetricDistributions {
  writeBytes: number[];
  writeRecords: number[];
  writeTime: number[];
}

/**
 * Quantiles of task metrics over a stage attempt's successful tasks (`TaskMetricDistributions`, the
 * History Server's `taskSummary`). Exact while a stage has at most `eventLog.exactQuantileValues` successful
 * tasks; beyond that, within 1% relative error (a DDSketch).
 */
export interface TaskMetricDistributions {
  quantiles: number[];
  duration: number[];
  executorDeserializeTime: number[];
  executorDeserializeCpuTime: number[];
  executorRunTime: number[];
  executorCpuTime: number[];
  resultSize: number[];
  jvmGcTime: number[];
  resultSerializationTime: number[];
  gettingResultTime: number[];
  schedulerDelay: number[];
  peakExecutionMemory: number[];
  memoryBytesSpilled: number[];
  diskBytesSpilled: number[];
  inputMetrics: InputMetricDistributions;
  outputMetrics: OutputMetricDistributions;
  shuffleReadMetrics: ShuffleReadMetricDistributions;
  shuffleWriteMetrics: ShuffleWriteMetricDistributions;
}

/** Task counts of speculative tasks in a stage attempt (`SpeculationStageSummary`). */
export interface SpeculationStageSummary {
  numTasks: number;
  numActiveTasks: number;
  numCompletedTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
}

/** One attempt of a stage (`StageData`) with every aggregate the History Server computes. */
export interface StageData {
  status: StageStatus;
  stageId: number;
  attemptId: number;
  numTasks: number;
  numActiveTasks: number;
  numCompleteTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  numCompletedIndices: number;
  submissionTime?: string;
  firstTaskLaunchedTime?: string;
  completionTime?: string;
  failureReason?: string;
  executorDeserializeTime: number;
  /** ns */
  executorDeserializeCpuTime: number;
  executorRunTime: number;
  /** ns */
  executorCpuTime: number;
  resultSize: number;
  jvmGcTime: number;
  resultSerializationTime: number;
  memoryBytesSpilled: number;
  diskBytesSpilled: number;
  peakExecutionMemory: number;
  inputBytes: number;
  inputRecords: number;
  outputBytes: number;
  outputRecords: number;
  shuffleRemoteBlocksFetched: number;
  shuffleLocalBlocksFetched: number;
  shuffleFetchWaitTime: number;
  shuffleRemoteBytesRead: number;
  shuffleRemoteBytesReadToDisk: number;
  shuffleLocalBytesRead: number;
  shuffleReadBytes: number;
  shuffleReadRecords: number;
  shuffleCorruptMergedBlockChunks: number;
  shuffleMergedFetchFallbackCount: number;
  shuffleMergedRemoteBlocksFetched: number;
  shuffleMergedLocalBlocksFetched: number;
  shuffleMergedRemoteChunksFetched: number;
  shuffleMergedLocalChunksFetched: number;
  shuffleMergedRemoteBytesRead: number;
  shuffleMergedLocalBytesRead: number;
  shuffleRemoteReqsDuration: number;
  shuffleMergedRemoteReqsDuration: number;
  shuffleWriteBytes: number;
  /** ns */
  shuffleWriteTime: number;
  shuffleWriteRecords: number;
  name: string;
  description?: string;
  details: string;
  schedulingPool: string;
  rddIds: number[];
  accumulatorUpdates: AccumulableInfo[];
  executorSummary: Record<string, ExecutorStageSummary>;
  speculationSummary?: SpeculationStageSummary;
  killedTasksSummary: Record<string, number>;
  resourceProfileId: number;
  peakExecutorMetrics?: ExecutorMetrics;
  taskMetricsDistributions?: TaskMetricDistributions;
  isShufflePushEnabled: boolean;
  shuffleMergersCount: number;
  /** Parent stage ids (from `Parent IDs` in the stage info): the stage DAG. */
  parentIds: number[];
  /** Jobs this stage belongs to. */
  jobIds: number[];
}
