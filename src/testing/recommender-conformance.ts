/**
 * A conformance suite for {@link Recommender}s. Every built-in recommender passes it on real runs; an
 * extension author runs it on theirs.
 * @module
 */
import { RecommendError } from '../errors.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { Candidate, RecommendContext, Recommender } from '../recommend/recommender.js';
import { paretoFront, propertiesOf } from '../recommend/settings.js';
import { jobKeyOf } from '../store/summary.js';
import { resolveTestApi, type TestApi } from './collector-conformance.js';

/** What the suite needs. */
export interface RecommenderConformanceOptions {
  test?: TestApi;
  create: () => Recommender;
  /** Complete runs of one recurring job under several settings, newest first (at least three). */
  history: ApplicationAttemptModel[];
  /** Runs of other jobs, offered as similar runs. */
  others?: ApplicationAttemptModel[];
  /** Whether the recommender can work without any run of the job (from similar runs alone). */
  worksWithoutHistory?: boolean;
  /** Per-test timeout, ms (default 60 s). */
  timeout?: number;
}

/**
 * Declares the recommender conformance tests.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * describeRecommenderConformance('mine', { test: { describe, it, expect }, create: () => myRecommender(), history });
 * ```
 */
export function describeRecommenderConformance(name: string, options: RecommenderConformanceOptions): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  const timeout = options.timeout ?? 60_000;
  const jobKey = jobKeyOf(options.history[0]!.application.name);
  const context = (over: Partial<RecommendContext> = {}): RecommendContext => ({
    jobKey,
    history: options.history,
    similar: (options.others ?? []).map((model) => ({ model, similarity: 0.8 })),
    objective: 'balanced',
    pricing: { corePerHour: 0.04, gbPerHour: 0.005 },
    feedback: [],
    maxExecutors: 16,
    ...over,
  });

  describe(`recommender conformance: ${name}`, () => {
    it(
      'recommends settings with their Spark properties, a prediction with intervals and a confidence',
      async () => {
        const r = await options.create().recommend(context());
        expect(typeof r.id).toBe('string');
        expect(r.id.length).toBeGreaterThan(0);
        expect(r.jobKey).toBe(jobKey);
        expect(r.objective).toBe('balanced');
        expect(r.properties).toMatchObject(propertiesOf(r.settings));
        expect(r.settings.executors).toBeGreaterThanOrEqual(1);
        expect(r.settings.executors).toBeLessThanOrEqual(16);
        const d = r.prediction.durationMs;
        expect(d.value).toBeGreaterThan(0);
        expect(d.low).toBeLessThanOrEqual(d.value);
        expect(d.high).toBeGreaterThanOrEqual(d.value);
        expect(r.prediction.cost.low).toBeLessThanOrEqual(r.prediction.cost.value);
        expect(r.confidence).toBeGreaterThan(0);
        expect(r.confidence).toBeLessThan(1);
        expect(r.basis.reasons.length).toBeGreaterThan(0);
        expect(r.basedOn.map((b) => b.appId)).toEqual(options.history.map((m) => m.appId));
      },
      timeout,
    );

    it(
      'keeps the pick and its alternatives on one time-against-cost front',
      async () => {
        const r = await options.create().recommend(context());
        const all: Candidate[] = [
          { settings: r.settings, properties: r.properties, prediction: r.prediction },
          ...r.alternatives,
        ];
        expect(paretoFront(all)).toHaveLength(all.length);
      },
      timeout,
    );

    it(
      'follows the objective: cost is never dearer, time never slower, than balanced',
      async () => {
        const rec = options.create();
        const balanced = await rec.recommend(context());
        const cost = await rec.recommend(context({ objective: 'cost' }));
        const time = await rec.recommend(context({ objective: 'time' }));
        expect(cost.prediction.cost.value).toBeLessThanOrEqual(balanced.prediction.cost.value * (1 + 1e-9));
        expect(time.prediction.durationMs.value).toBeLessThanOrEqual(
          balanced.prediction.durationMs.value * (1 + 1e-9),
        );
        // A deadline the cheapest setting misses moves the cost pick to a faster setting that meets it.
        const deadline = (cost.prediction.durationMs.value + time.prediction.durationMs.value) / 2;
        const within = await rec.recommend(context({ objective: 'cost', deadlineMs: deadline }));
        // The fastest setting meets it (the deadline lies between the two), so the pick must too.
        expect(within.prediction.durationMs.value).toBeLessThanOrEqual(deadline);
        expect(within.prediction.cost.value).toBeGreaterThanOrEqual(cost.prediction.cost.value * (1 - 1e-9));
      },
      timeout,
    );

    it(
      'corrects its predictions by feedback on earlier recommendations',
      async () => {
        const rec = options.create();
        const before = await rec.recommend(context());
        const after = await rec.recommend(
          context({
            feedback: [
              {
                recommendationId: before.id,
                jobKey,
                createdAt: Date.now(),
                outcome: { appId: options.history[0]!.appId },
                predictedMs: 1000,
                observedMs: 1500,
              },
            ],
          }),
        );
        // Runs 1.5 times slower than predicted scale every candidate alike: the same pick, 1.5 times longer.
        expect(after.settings).toEqual(before.settings);
        expect(after.prediction.durationMs.value).toBeCloseTo(before.prediction.durationMs.value * 1.5, 0);
      },
      timeout,
    );

    it(
      'says when it has nothing to go on',
      async () => {
        const empty = context({ history: [], similar: [] });
        const err = await options
          .create()
          .recommend(empty)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RecommendError);
        expect((err as RecommendError).code).toBe('SPARKPILOT_RECOMMEND_NO_DATA');
        expect((err as Error).message).toContain(jobKey);
        if (options.worksWithoutHistory && (options.others?.length ?? 0) > 0) {
          const r = await options.create().recommend(context({ history: [] }));
          expect(r.confidence).toBeLessThan(0.5);
        }
      },
      timeout,
    );
  });
}
