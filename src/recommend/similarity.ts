/**
 * The `similarity` recommender: how runs of similar jobs scaled (their simulated speed-up curves, weighted
 * by similarity) applied to this job's newest run, or, for a job never run, their durations.
 * @module
 */
import { z } from 'zod';
import { RecommendError } from '../errors.js';
import { defineFactory } from '../registry.js';
import { distinctSettings, type RecommenderInput, recommendWith } from './engine.js';
import { similarityPredictor } from './predict.js';
import type { RecommendContext, Recommender } from './recommender.js';

/** Options of the `similarity` recommender. */
export const similarityRecommenderOptionsSchema = z
  .object({
    /** Similar runs below this similarity (0 to 1) are not used. */
    minSimilarity: z.number().min(0).max(1).default(0.5),
  })
  .strict();

/**
 * The `similarity` recommender.
 *
 * @example
 * ```ts
 * const rec = await similarityRecommender({ minSimilarity: 0.6 }).recommend(context);
 * ```
 */
export const similarityRecommender = defineFactory(
  'similarity',
  similarityRecommenderOptionsSchema,
  (options): Recommender => ({
    name: 'similarity',
    async recommend(context) {
      return recommendWith(context, similarityInput(context, options.minSimilarity));
    },
  }),
);

/**
 * The predictor and confidence of the `similarity` recommender for a context (also used by the benchmark).
 * @param minSimilarity Similar runs below this similarity are not used.
 */
export function similarityInput(context: RecommendContext, minSimilarity = 0.5): RecommenderInput {
  const similar = context.similar.filter((r) => r.similarity >= minSimilarity);
  const predictor = similarityPredictor(similar, context.history[0]);
  if (!predictor) {
    throw new RecommendError(
      'SPARKPILOT_RECOMMEND_NO_DATA',
      `No run similar to job "${context.jobKey}" (similarity >= ${minSimilarity}) is stored. Lower minSimilarity or ingest more runs.`,
    );
  }
  const meanSimilarity = similar.reduce((a, r) => a + r.similarity, 0) / similar.length;
  return {
    recommender: 'similarity',
    predictor,
    confidence: meanSimilarity * 0.6 * Math.min(1, similar.length / 5),
    basis: {
      historyRuns: context.history.length,
      distinctSettings: distinctSettings(context.history),
      similarRuns: similar.length,
      meanSimilarity,
      reasons: [
        `${similar.length} similar run(s) of other jobs, mean similarity ${meanSimilarity.toFixed(2)}.`,
      ],
    },
  };
}
