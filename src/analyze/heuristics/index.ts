/**
 * The built-in heuristics, one per file, in the order the `job` analyzer runs them.
 * @module
 */
import type { Heuristic } from '../analyzer.js';
import { configHeuristic } from './config.js';
import { driverHeuristic } from './driver.js';
import { executorGcHeuristic } from './executor-gc.js';
import { executorLostHeuristic } from './executor-lost.js';
import { executorMemoryHeuristic } from './executor-memory.js';
import { fetchFailuresHeuristic } from './fetch-failures.js';
import { idleExecutorsHeuristic } from './idle-executors.js';
import { jobFailuresHeuristic } from './job-failures.js';
import { partitionCountHeuristic } from './partition-count.js';
import { schedulerDelayHeuristic } from './scheduler-delay.js';
import { smallFilesHeuristic } from './small-files.js';
import { stageFailuresHeuristic } from './stage-failures.js';
import { stageSkewHeuristic } from './stage-skew.js';
import { stageSpillHeuristic } from './stage-spill.js';
import { taskFailuresHeuristic } from './task-failures.js';
import { unifiedMemoryHeuristic } from './unified-memory.js';

export { configHeuristic } from './config.js';
export { driverHeuristic } from './driver.js';
export { executorGcHeuristic } from './executor-gc.js';
export { executorLostHeuristic } from './executor-lost.js';
export { executorMemoryHeuristic } from './executor-memory.js';
export { fetchFailuresHeuristic } from './fetch-failures.js';
export { type CoreTime, coreTimeOf, idleExecutorsHeuristic } from './idle-executors.js';
export { jobFailuresHeuristic } from './job-failures.js';
export { partitionCountHeuristic } from './partition-count.js';
export { schedulerDelayHeuristic } from './scheduler-delay.js';
export { smallFilesHeuristic } from './small-files.js';
export { stageFailuresHeuristic } from './stage-failures.js';
export { stageSkewHeuristic } from './stage-skew.js';
export { stageSpillHeuristic } from './stage-spill.js';
export { taskFailuresHeuristic } from './task-failures.js';
export { unifiedMemoryHeuristic } from './unified-memory.js';

/**
 * The built-in heuristics: failures first (what broke), then memory, then time and configuration. The
 * `job` analyzer runs them all unless its `disable` option names one.
 */
export const builtinHeuristics: readonly Heuristic[] = Object.freeze([
  jobFailuresHeuristic,
  stageFailuresHeuristic,
  taskFailuresHeuristic,
  fetchFailuresHeuristic,
  executorLostHeuristic,
  executorMemoryHeuristic,
  unifiedMemoryHeuristic,
  executorGcHeuristic,
  stageSpillHeuristic,
  driverHeuristic,
  stageSkewHeuristic,
  partitionCountHeuristic,
  smallFilesHeuristic,
  schedulerDelayHeuristic,
  idleExecutorsHeuristic,
  configHeuristic,
]);
