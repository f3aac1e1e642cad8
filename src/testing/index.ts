/**
 * `sparkpilot/testing`: the kit for testing code built on sparkpilot, and the conformance suites that every
 * built-in collector (and later recommender and adapter) passes, for extension authors to run on theirs.
 * Works with vitest (or jest): pass the runner's `describe`, `it` and `expect`, or enable its globals.
 *
 * @packageDocumentation
 */

export {
  ADAPTER_CONFORMANCE_JOB_NAMES,
  type AdapterConformanceOptions,
  describeAdapterConformance,
} from './adapter-conformance.js';
export {
  type CollectorConformanceOptions,
  describeCollectorConformance,
  modelInvariantViolations,
  resolveTestApi,
  type TestApi,
} from './collector-conformance.js';
export {
  createPipelineTestKit,
  type KitSubmission,
  type PipelineTestKit,
  type PipelineTestKitOptions,
} from './pipeline-kit.js';
export {
  describeRecommenderConformance,
  type RecommenderConformanceOptions,
} from './recommender-conformance.js';
export {
  describeRepositoryConformance,
  firstDifference,
  HOSTILE_STRINGS,
  type RepositoryConformanceOptions,
} from './repository-conformance.js';
export {
  describeRunRepositoryConformance,
  type RunRepositoryConformanceOptions,
} from './run-conformance.js';
export {
  diffRows,
  expectSameRows,
  type RowsDifference,
  readSparkOutput,
  runSparkJob,
  type SparkJobOutput,
  type SparkJobResult,
  type SparkJobTestOptions,
} from './spark-job.js';
export {
  describeTuningRepositoryConformance,
  type TuningConformanceOptions,
  type TuningRepositories,
} from './tuning-conformance.js';
