/**
 * The analysis contracts: findings with evidence and advice, the heuristics that produce them, and the
 * analyzer that runs them with the efficiency report. The default implementation is `jobAnalyzer`
 * (`job-analyzer.ts`); hosts add heuristics or whole analyzers through the registry.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { EfficiencyReport } from './efficiency.js';
import type { AnalyzerThresholds } from './thresholds.js';

/** How much a finding matters, from nothing to see to a run that failed or wasted most of its resources. */
export type Severity = 'none' | 'low' | 'moderate' | 'severe' | 'critical';

/** Severities in increasing order. */
export const SEVERITIES: readonly Severity[] = ['none', 'low', 'moderate', 'severe', 'critical'];

/** Numeric rank of a severity (0 for `none` to 4 for `critical`), for sorting and comparing. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** The larger of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/**
 * The severity of `value` against ascending limits `[low, moderate, severe, critical]`: `none` below the
 * first, `critical` at or above the last. With `descending`, smaller values are worse.
 */
export function severityOf(
  value: number,
  limits: readonly [number, number, number, number],
  descending = false,
): Severity {
  let rank = 0;
  for (let i = 0; i < 4; i++) {
    if (descending ? value <= limits[i]! : value >= limits[i]!) rank = i + 1;
  }
  return SEVERITIES[rank]!;
}

/** What a finding is based on: the metric values, and the stages, jobs and executors it is about. */
export interface Evidence {
  /** Metric values by name (units in the name: `…Ms`, `…Bytes`, `…Ratio`), as observed. */
  metrics: Record<string, number | string>;
  stageIds?: number[];
  jobIds?: number[];
  executorIds?: string[];
}

/** One thing the analyzer noticed about an application attempt. */
export interface Finding {
  /** Stable id of the heuristic's finding (`executor-gc`, `stage-skew`, ...): never changes meaning. */
  id: string;
  /** A short title. */
  title: string;
  severity: Severity;
  /** One or two sentences: what was seen, with the numbers. */
  summary: string;
  evidence: Evidence;
  /** What to do, most useful first. */
  advice: string[];
  /**
   * Spark properties the advice suggests, when it comes down to settings
   * (`{ 'spark.executor.memory': '6g' }`). Recommenders read these.
   */
  properties?: Record<string, string>;
}

/** What a heuristic is given besides the model. */
export interface HeuristicContext {
  /** Thresholds in force (defaults merged with the host's configuration). */
  thresholds: AnalyzerThresholds;
  /** A Spark property of the application, or `undefined` when it was not set. */
  property(key: string): string | undefined;
}

/** One rule: reads a model and returns its findings (none when there is nothing to say). */
export interface Heuristic {
  /** Stable id, also the prefix of its findings' ids. */
  id: string;
  /** What it looks at, for documentation. */
  description: string;
  evaluate(model: ApplicationAttemptModel, context: HeuristicContext): Finding[];
}

/** The result of analyzing one application attempt. */
export interface Analysis {
  appId: string;
  /** `''` when Spark gave no attempt id. */
  attemptId: string;
  /** Name of the analyzer that produced it. */
  analyzer: string;
  /** Version of the analyzer's rules: a stored analysis of an older version can be redone. */
  version: string;
  /** Epoch ms. */
  createdAt: number;
  /** The worst severity among the findings (`none` when there are none). */
  severity: Severity;
  /** Findings, worst first. */
  findings: Finding[];
  efficiency: EfficiencyReport;
}

/** Options of {@link Analyzer.analyze}. */
export interface AnalyzeOptions {
  signal?: AbortSignal;
}

/** Analyzes application attempts. */
export interface Analyzer {
  readonly name: string;
  analyze(model: ApplicationAttemptModel, options?: AnalyzeOptions): Promise<Analysis>;
}

/** The value of a Spark property in a model's environment, or `undefined`. */
export function sparkProperty(model: ApplicationAttemptModel, key: string): string | undefined {
  for (const [k, v] of model.environment.sparkProperties) if (k === key) return v;
  return undefined;
}
