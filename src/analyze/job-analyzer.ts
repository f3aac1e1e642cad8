/**
 * The default analyzer (`job`): runs the built-in heuristics (and any the host adds) with the configured
 * thresholds, and adds the efficiency report.
 * @module
 */
import { z } from 'zod';
import { throwIfAborted } from '../errors.js';
import { defineFactory } from '../registry.js';
import {
  type Analysis,
  type Analyzer,
  type Finding,
  type Heuristic,
  maxSeverity,
  type Severity,
  severityRank,
  sparkProperty,
} from './analyzer.js';
import { efficiencyOf } from './efficiency.js';
import { builtinHeuristics } from './heuristics/index.js';
import { analyzerThresholdsSchema } from './thresholds.js';

/** Version of the built-in rules: bump when a heuristic changes what it finds. */
export const JOB_ANALYZER_VERSION = '1';

/** Options of the `job` analyzer. */
export const jobAnalyzerOptionsSchema = z
  .object({
    /** Thresholds of the heuristics; every one has a documented default (docs/analysis.md). */
    thresholds: analyzerThresholdsSchema.default(analyzerThresholdsSchema.parse({})),
    /** Ids of built-in heuristics to leave out. */
    disable: z.array(z.string()).default([]),
    /** Findings below this severity are dropped. */
    minSeverity: z.enum(['none', 'low', 'moderate', 'severe', 'critical']).default('low'),
    /** Heuristics of the host, run after the built-in ones. */
    heuristics: z
      .array(z.custom<Heuristic>((h) => typeof (h as Heuristic)?.evaluate === 'function'))
      .default([]),
  })
  .strict();

/**
 * The `job` analyzer.
 *
 * @example
 * ```ts
 * const analysis = await jobAnalyzer({ thresholds: { gc: { ratio: [0.05, 0.1, 0.2, 0.3] } } }).analyze(model);
 * for (const f of analysis.findings) console.log(f.severity, f.id, f.summary);
 * ```
 */
export const jobAnalyzer = defineFactory('job', jobAnalyzerOptionsSchema, (options): Analyzer => {
  const heuristics = [
    ...builtinHeuristics.filter((h) => !options.disable.includes(h.id)),
    ...(options.heuristics as Heuristic[]),
  ];
  const floor = severityRank(options.minSeverity as Severity);
  return {
    name: 'job',
    async analyze(model, analyzeOptions = {}): Promise<Analysis> {
      throwIfAborted(analyzeOptions.signal);
      const context = {
        thresholds: options.thresholds,
        property: (key: string) => sparkProperty(model, key),
      };
      const findings: Finding[] = [];
      for (const h of heuristics) {
        throwIfAborted(analyzeOptions.signal);
        for (const f of h.evaluate(model, context)) if (severityRank(f.severity) >= floor) findings.push(f);
      }
      findings.sort(
        (a, b) => severityRank(b.severity) - severityRank(a.severity) || a.id.localeCompare(b.id),
      );
      return {
        appId: model.appId,
        attemptId: model.attemptId ?? '',
        analyzer: 'job',
        version: JOB_ANALYZER_VERSION,
        createdAt: Date.now(),
        severity: findings.reduce<Severity>((s, f) => maxSeverity(s, f.severity), 'none'),
        findings,
        efficiency: efficiencyOf(model),
      };
    },
  };
});
