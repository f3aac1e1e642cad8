/**
 * Executors (the driver included), shaped like the History Server's `ExecutorSummary`
 * (`/api/v1/applications/{appId}/allexecutors`).
 * @module
 */
import type { ExecutorMetrics } from './metrics.js';

/** Storage memory of an executor (`MemoryMetrics`), present when Spark reported on/off-heap sizes (2.1+). */
export interface MemoryMetrics {
  usedOnHeapStorageMemory: number;
  usedOffHeapStorageMemory: number;
  totalOnHeapStorageMemory: number;
  totalOffHeapStorageMemory: number;
}

/** A custom resource (GPU, FPGA) an executor was given. */
export interface ResourceInformation {
  name: string;
  addresses: string[];
}

/** An executor or the driver (`ExecutorSummary`). */
export interface ExecutorSummary {
  /** `driver` for the driver, else the executor id. */
  id: string;
  hostPort: string;
  isActive: boolean;
  rddBlocks: number;
  memoryUsed: number;
  diskUsed: number;
  totalCores: number;
  maxTasks: number;
  activeTasks: number;
  failedTasks: number;
  completedTasks: number;
  totalTasks: number;
  /** Sum of task durations, ms. */
  totalDuration: number;
  /** Sum of task JVM GC time, ms. */
  totalGCTime: number;
  totalInputBytes: number;
  totalShuffleRead: number;
  totalShuffleWrite: number;
  isBlacklisted: boolean;
  /** Storage memory available to the block manager, bytes. */
  maxMemory: number;
  addTime: string;
  removeTime?: string;
  removeReason?: string;
  executorLogs: Record<string, string>;
  memoryMetrics?: MemoryMetrics;
  blacklistedInStages: number[];
  /** Peak executor metrics over the application; absent when the log has none (before Spark 3.0). */
  peakMemoryMetrics?: ExecutorMetrics;
  attributes: Record<string, string>;
  resources: Record<string, ResourceInformation>;
  resourceProfileId: number;
  isExcluded: boolean;
  excludedInStages: number[];
}
