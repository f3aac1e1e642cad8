/**
 * Executor-level memory and GC metrics (`ExecutorMetricType`), as a plain record keyed by Spark's names
 * (`JVMHeapMemory`, `OnHeapExecutionMemory`, `ProcessTreeJVMRSSMemory`, `MajorGCTime`, …).
 * Unknown vendor metrics (Databricks' `NettyDirectMemory`, …) are kept under their own names.
 * @module
 */

/** Peak executor metrics by name. */
export type ExecutorMetrics = Record<string, number>;

/** The executor metric names Spark 4.1 defines, in `ExecutorMetricType` order. */
export const EXECUTOR_METRIC_NAMES = [
  'JVMHeapMemory',
  'JVMOffHeapMemory',
  'OnHeapExecutionMemory',
  'OffHeapExecutionMemory',
  'OnHeapStorageMemory',
  'OffHeapStorageMemory',
  'OnHeapUnifiedMemory',
  'OffHeapUnifiedMemory',
  'DirectPoolMemory',
  'MappedPoolMemory',
  'ProcessTreeJVMVMemory',
  'ProcessTreeJVMRSSMemory',
  'ProcessTreePythonVMemory',
  'ProcessTreePythonRSSMemory',
  'ProcessTreeOtherVMemory',
  'ProcessTreeOtherRSSMemory',
  'MinorGCCount',
  'MinorGCTime',
  'MajorGCCount',
  'MajorGCTime',
  'TotalGCTime',
  'ConcurrentGCCount',
  'ConcurrentGCTime',
] as const;
