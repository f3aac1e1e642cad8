/**
 * `sparkpilot/testing`: the kit for testing code built on sparkpilot, and the conformance suites that every
 * built-in collector (and later recommender and adapter) passes, for extension authors to run on theirs.
 * Requires vitest in the caller's project.
 *
 * @packageDocumentation
 */
export {
  type CollectorConformanceOptions,
  describeCollectorConformance,
  modelInvariantViolations,
} from './collector-conformance.js';
