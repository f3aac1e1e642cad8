/**
 * The `model` recommender: a runtime model fitted per recurring job on its history (the stage simulator's
 * curve calibrated by least squares over the job's runs, Ernest-style, with the saturation the history
 * shows), predicting every candidate setting. With fewer runs than `minHistory` it says so and falls back
 * to the simulator (or similar runs) with a low confidence.
 * @module
 */
import { z } from 'zod';
import { RecommendError } from '../errors.js';
import { defineFactory } from '../registry.js';
import { confidenceFromError, distinctSettings, type RecommenderInput, recommendWith } from './engine.js';
import {
  leaveOneOutMape,
  scalingModelPredictor,
  similarityPredictor,
  simulatorPredictor,
} from './predict.js';
import type { RecommendContext, Recommender } from './recommender.js';

/** Options of the `model` recommender. */
export const modelRecommenderOptionsSchema = z
  .object({
    /** Runs of the job needed to fit the model (fewer: fall back with a low confidence). */
    minHistory: z.number().int().min(2).default(3),
  })
  .strict();

/**
 * The `model` recommender.
 *
 * @example
 * ```ts
 * const rec = await modelRecommender({ minHistory: 3 }).recommend(context);
 * ```
 */
export const modelRecommender = defineFactory(
  'model',
  modelRecommenderOptionsSchema,
  (options): Recommender => ({
    name: 'model',
    async recommend(context) {
      return recommendWith(context, modelInput(context, options.minHistory));
    },
  }),
);

/**
 * The predictor and confidence of the `model` recommender for a context (also used by the benchmark).
 * @param minHistory Runs of the job needed to fit the model.
 */
export function modelInput(context: RecommendContext, minHistory = 3): RecommenderInput {
  const history = context.history;
  const distinct = distinctSettings(history);
  if (history.length < minHistory) {
    const fallback = history[0]
      ? simulatorPredictor(history[0])
      : similarityPredictor(context.similar, undefined);
    if (!fallback) {
      throw new RecommendError(
        'SPARKPILOT_RECOMMEND_NO_DATA',
        `No run of job "${context.jobKey}" is stored and no similar run was found. Ingest a run of it first (sparkpilot ingest <event log>).`,
      );
    }
    return {
      recommender: 'model',
      predictor: fallback,
      confidence: history.length ? 0.2 : 0.08,
      basis: {
        historyRuns: history.length,
        distinctSettings: distinct,
        similarRuns: history.length ? 0 : context.similar.length,
        meanSimilarity: 0,
        reasons: [
          `Job "${context.jobKey}" has ${history.length} run(s); the model needs ${minHistory}: falling back to the ${history.length ? 'simulator on its newest run' : 'similar runs of other jobs'}.`,
        ],
      },
    };
  }
  const predictor = scalingModelPredictor(history)!;
  const mape = leaveOneOutMape(history, (rest) => scalingModelPredictor(rest));
  const reasons = [
    `Fitted on ${history.length} runs of the job with ${distinct} distinct executor setting(s).`,
  ];
  if (mape !== undefined)
    reasons.push(
      `Leaving each run out, the model predicted it within ${(mape * 100).toFixed(0)}% on average.`,
    );
  if (distinct < 2)
    reasons.push('All runs had the same executors: the scaling comes from the simulator alone.');
  return {
    recommender: 'model',
    predictor,
    confidence: confidenceFromError(mape ?? 0.35) * Math.min(1, 0.5 + distinct / 6),
    basis: {
      historyRuns: history.length,
      distinctSettings: distinct,
      similarRuns: 0,
      meanSimilarity: 0,
      ...(mape !== undefined ? { historyMape: mape } : {}),
      reasons,
    },
  };
}
