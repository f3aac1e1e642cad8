/**
 * The `ensemble` recommender (the default): every predictor the evidence allows (the simulator on the
 * newest run, the job's fitted model, similar runs), each with its error measured on the job's own history
 * (leaving one run out). The members within `competitive` times the best error are combined, weighted by
 * the inverse square of their errors; a member much worse than the best would only add its error.
 * @module
 */
import { z } from 'zod';
import { RecommendError } from '../errors.js';
import { defineFactory } from '../registry.js';
import { confidenceFromError, distinctSettings, type RecommenderInput, recommendWith } from './engine.js';
import {
  combine,
  type DurationPredictor,
  leaveOneOutMape,
  scalingModelPredictor,
  similarityPredictor,
  simulatorPredictor,
  UNMEASURED_ERROR,
} from './predict.js';
import type { RecommendContext, Recommender } from './recommender.js';

/** Options of the `ensemble` recommender. */
export const ensembleRecommenderOptionsSchema = z
  .object({
    /** Runs of the job needed before its fitted model joins. */
    minHistory: z.number().int().min(2).default(3),
    /** Similar runs below this similarity are not used. */
    minSimilarity: z.number().min(0).max(1).default(0.5),
    /** Members whose measured error is within this factor of the best one's are combined. */
    competitive: z.number().min(1).default(1.5),
  })
  .strict();

/** Options of {@link ensembleInput}. */
export type EnsembleOptions = z.output<typeof ensembleRecommenderOptionsSchema>;

/**
 * The `ensemble` recommender.
 *
 * @example
 * ```ts
 * const rec = await ensembleRecommender().recommend(context);
 * ```
 */
export const ensembleRecommender = defineFactory(
  'ensemble',
  ensembleRecommenderOptionsSchema,
  (options): Recommender => ({
    name: 'ensemble',
    async recommend(context) {
      return recommendWith(context, ensembleInput(context, options));
    },
  }),
);

/** The predictor and confidence of the `ensemble` recommender for a context (also used by the benchmark). */
export function ensembleInput(
  context: RecommendContext,
  options: EnsembleOptions = ensembleRecommenderOptionsSchema.parse({}),
): RecommenderInput {
  const history = context.history;
  const newest = history[0];
  const members: { p: DurationPredictor; error: number; name: string }[] = [];
  const reasons: string[] = [];
  if (newest) {
    const e = leaveOneOutMape(history, (rest) => simulatorPredictor(rest[0]!));
    members.push({ name: 'simulator', p: simulatorPredictor(newest), error: e ?? UNMEASURED_ERROR });
  }
  if (history.length >= options.minHistory) {
    const p = scalingModelPredictor(history);
    const e = leaveOneOutMape(history, (rest) => scalingModelPredictor(rest));
    if (p) members.push({ name: 'fitted model', p, error: e ?? UNMEASURED_ERROR });
  }
  const similar = context.similar.filter((r) => r.similarity >= options.minSimilarity);
  const meanSimilarity = similar.length ? similar.reduce((a, r) => a + r.similarity, 0) / similar.length : 0;
  const sp = similarityPredictor(similar, newest);
  if (sp) {
    // Measured on the job's history when there is one, else assumed from how similar the runs are.
    const e = newest ? leaveOneOutMape(history, (rest) => similarityPredictor(similar, rest[0])) : undefined;
    members.push({ name: 'similar runs', p: sp, error: e ?? UNMEASURED_ERROR + (1 - meanSimilarity) * 0.5 });
  }
  if (members.length === 0) {
    throw new RecommendError(
      'SPARKPILOT_RECOMMEND_NO_DATA',
      `No run of job "${context.jobKey}" is stored and no similar run was found. Ingest a run of it first (sparkpilot ingest <event log>).`,
    );
  }
  const best = Math.min(...members.map((m) => m.error));
  const used = members.filter((m) => m.error <= best * options.competitive);
  for (const m of members) {
    const measured = m.error !== UNMEASURED_ERROR;
    reasons.push(
      `${m.name}: ${measured ? `${(m.error * 100).toFixed(0)}% mean error on the job's runs` : 'error not measured yet'}${used.includes(m) ? '' : ' (left out: much worse than the best)'}.`,
    );
  }
  const predictor: DurationPredictor = {
    name: 'ensemble',
    predict: (s) => combine(used.map((m) => ({ ms: m.p.predict(s).ms, relError: Math.max(0.05, m.error) }))),
  };
  const distinct = distinctSettings(history);
  if (!newest) reasons.push('No run of this job: the durations come from similar runs of other jobs.');
  if (history.length > 0 && history.length < options.minHistory) {
    reasons.push(`${history.length} run(s) of the job: the fitted model joins at ${options.minHistory}.`);
  }
  return {
    recommender: 'ensemble',
    predictor,
    confidence: newest ? confidenceFromError(best) * Math.min(1, 0.5 + distinct / 6) : meanSimilarity * 0.3,
    basis: {
      historyRuns: history.length,
      distinctSettings: distinct,
      similarRuns: sp ? similar.length : 0,
      meanSimilarity,
      ...(best < UNMEASURED_ERROR ? { historyMape: best } : {}),
      reasons,
    },
  };
}
