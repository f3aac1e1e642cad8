/**
 * The `rule-based` recommender: memory from the newest run's peaks and findings (rules of thumb with
 * evidence), executors and cores from the stage simulator on the newest run, picked by the objective.
 * @module
 */
import { z } from 'zod';
import { RecommendError } from '../errors.js';
import { defineFactory } from '../registry.js';
import { confidenceFromError, distinctSettings, type RecommenderInput, recommendWith } from './engine.js';
import { leaveOneOutMape, similarityPredictor, simulatorPredictor, UNMEASURED_ERROR } from './predict.js';
import type { RecommendContext, Recommender } from './recommender.js';

/** Options of the `rule-based` recommender. */
export const ruleBasedRecommenderOptionsSchema = z.object({}).strict();

/**
 * The `rule-based` recommender.
 *
 * @example
 * ```ts
 * const rec = await ruleBasedRecommender().recommend(context);
 * ```
 */
export const ruleBasedRecommender = defineFactory(
  'rule-based',
  ruleBasedRecommenderOptionsSchema,
  (): Recommender => ({
    name: 'rule-based',
    async recommend(context) {
      return recommendWith(context, ruleBasedInput(context));
    },
  }),
);

/** The predictor and confidence of the `rule-based` recommender for a context (also used by the benchmark). */
export function ruleBasedInput(context: RecommendContext): RecommenderInput {
  const newest = context.history[0];
  const reasons: string[] = [];
  let predictor = newest ? simulatorPredictor(newest) : similarityPredictor(context.similar, undefined);
  if (!predictor) {
    throw new RecommendError(
      'SPARKPILOT_RECOMMEND_NO_DATA',
      `No run of job "${context.jobKey}" is stored and no similar run was found. Ingest a run of it first (sparkpilot ingest <event log>).`,
    );
  }
  const mape = leaveOneOutMape(context.history, (rest) => simulatorPredictor(rest[0]!));
  if (mape !== undefined) {
    if (newest) predictor = simulatorPredictor(newest, Math.max(0.05, mape));
    reasons.push(
      `The simulator predicted this job's other runs within ${(mape * 100).toFixed(0)}% on average.`,
    );
  } else reasons.push('The simulator is not yet checked against another run of this job.');
  if (!newest) reasons.push('No run of this job: the durations come from similar runs of other jobs.');
  return {
    recommender: 'rule-based',
    predictor,
    confidence: newest ? confidenceFromError(mape ?? UNMEASURED_ERROR) : 0.1,
    basis: {
      historyRuns: context.history.length,
      distinctSettings: distinctSettings(context.history),
      similarRuns: newest ? 0 : context.similar.length,
      meanSimilarity: 0,
      ...(mape !== undefined ? { historyMape: mape } : {}),
      reasons,
    },
  };
}
