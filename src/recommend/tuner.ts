/**
 * The tuner: analysis, similar runs, recommendations and feedback over a store. It reads a job's history
 * from the store, keeps each analysis, recommendation and feedback there, and closes the loop: the next
 * recommendation for a job learns from the runs that followed the earlier ones.
 * @module
 */
import { z } from 'zod';
import type { Analysis, Analyzer } from '../analyze/analyzer.js';
import { FEATURES_VERSION, FeatureIndex, featuresOf, type Neighbour } from '../analyze/features.js';
import { jobAnalyzer } from '../analyze/job-analyzer.js';
import { AnalyzeError, ConfigError, RecommendError, throwIfAborted } from '../errors.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';
import type { Store } from '../store/knex/connect.js';
import { jobKeyOf } from '../store/summary.js';
import { formatZodIssues } from '../util/zod.js';
import { ensembleRecommender } from './ensemble.js';
import { durationOf } from './predict.js';
import type {
  FeedbackOutcome,
  FeedbackRecord,
  Objective,
  Pricing,
  Recommendation,
  Recommender,
  ResourceSettings,
  SimilarRun,
} from './recommender.js';

/** Prices used when none are configured (a typical on-demand cloud price per vCPU-hour and GB-hour). */
export const DEFAULT_PRICING: Pricing = { corePerHour: 0.04, gbPerHour: 0.005 };

/** Options of {@link createTuner}. */
export const tunerOptionsSchema = z
  .object({
    pricing: z
      .object({
        corePerHour: z.number().min(0),
        gbPerHour: z.number().min(0),
        instanceTypes: z
          .array(
            z.object({
              name: z.string().min(1),
              cores: z.number().int().min(1),
              memoryGb: z.number().positive(),
              pricePerHour: z.number().min(0),
            }),
          )
          .optional(),
      })
      .default(DEFAULT_PRICING),
    /** The most executors a recommendation may ask for. */
    maxExecutors: z.number().int().min(1).max(10_000).default(64),
    /** Runs of a job read as its history, newest first. */
    historyLimit: z.number().int().min(1).max(1000).default(20),
    /** Similar runs of other jobs given to the recommender. */
    similarLimit: z.number().int().min(0).max(100).default(10),
  })
  .strict();

/** Options of {@link Tuner.recommend}. */
export interface RecommendOptions {
  objective?: Objective;
  /** ms */
  deadlineMs?: number;
  budget?: number;
  /** The job's declared settings, used when it has no run. */
  declared?: ResourceSettings;
  signal?: AbortSignal;
}

/** Analysis, similarity, recommendations and feedback over a store. */
export interface Tuner {
  /** Analyze a stored attempt (the newest when `attemptId` is omitted) and store the analysis. */
  analyze(appId: string, attemptId?: string, options?: { signal?: AbortSignal }): Promise<Analysis>;
  /** Analyze a model without storing anything. */
  analyzeModel(model: ApplicationAttemptModel, options?: { signal?: AbortSignal }): Promise<Analysis>;
  /** The `k` stored runs of other jobs most similar to an attempt. */
  similar(
    appId: string,
    k?: number,
    options?: { attemptId?: string; signal?: AbortSignal },
  ): Promise<Neighbour[]>;
  /** Recommend settings for a recurring job (its name or job key), and store the recommendation. */
  recommend(job: string, options?: RecommendOptions): Promise<Recommendation>;
  /** Record how a recommendation went: the run that used it (stored), or a rating from 1 to 5. */
  feedback(recommendationId: string, outcome: FeedbackOutcome): Promise<FeedbackRecord>;
  /** A stored recommendation. */
  recommendation(id: string): Promise<Recommendation | undefined>;
  /**
   * Compute the feature vectors of stored attempts that have none (new or updated since), so that the next
   * similarity search does not; returns how many were computed. `sparkpilot ingest` calls it.
   */
  refreshFeatures(options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * The tuner over a store.
 *
 * @example
 * ```ts
 * const store = await openStore('sqlite:./sparkpilot.db');
 * const tuner = createTuner(store, { pricing: { corePerHour: 0.05, gbPerHour: 0.006 } });
 * const rec = await tuner.recommend('daily etl', { objective: 'cost', deadlineMs: 3_600_000 });
 * console.log(rec.properties, rec.prediction.durationMs, rec.confidence);
 * // ... run the job with rec.properties, ingest its event log, then:
 * await tuner.feedback(rec.id, { appId: 'application_1700000000000_0042' });
 * ```
 */
export function createTuner(
  store: Store,
  options: z.input<typeof tunerOptionsSchema> & { analyzer?: Analyzer; recommender?: Recommender } = {},
): Tuner {
  const { analyzer = jobAnalyzer(), recommender = ensembleRecommender(), ...rest } = options;
  const parsed = tunerOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    throw new ConfigError(
      'SPARKPILOT_CONFIG_INVALID',
      `Invalid tuner options: ${formatZodIssues(parsed.error)}. Fix the options passed to createTuner.`,
      { cause: parsed.error },
    );
  }
  const config = Object.freeze(parsed.data);
  let index: FeatureIndex | undefined;

  const load = async (appId: string, attemptId?: string): Promise<ApplicationAttemptModel> => {
    const model = await store.applications.get(appId, attemptId);
    if (!model) {
      throw new AnalyzeError(
        'SPARKPILOT_ANALYZE_NOT_FOUND',
        `No stored application ${appId}${attemptId ? ` attempt ${attemptId}` : ''}. Ingest its event log first (sparkpilot ingest <path>), or list what is stored (sparkpilot apps list).`,
      );
    }
    return model;
  };

  const refreshFeatures = async (signal?: AbortSignal): Promise<number> => {
    let computed = 0;
    for (;;) {
      throwIfAborted(signal);
      const missing = await store.features.missing(FEATURES_VERSION, 200);
      if (missing.length === 0) break;
      const records = [];
      for (const m of missing) {
        const model = await store.applications.get(m.appId, m.attemptId);
        if (!model) continue;
        records.push({
          appId: m.appId,
          attemptId: m.attemptId,
          jobKey: jobKeyOf(model.application.name),
          version: FEATURES_VERSION,
          startTime: model.application.attempts[0]?.startTimeEpoch ?? 0,
          vector: featuresOf(model),
        });
      }
      await store.features.put(records);
      computed += records.length;
      index = undefined;
      if (records.length === 0) break;
    }
    return computed;
  };

  /** Feature vectors of every stored attempt (computed for those that lack them), in memory. */
  const featureIndex = async (signal?: AbortSignal): Promise<FeatureIndex> => {
    await refreshFeatures(signal);
    if (!index) {
      const next = new FeatureIndex();
      for (const r of await store.features.all(FEATURES_VERSION, signal ? { signal } : {})) {
        next.add({ appId: r.appId, attemptId: r.attemptId, jobKey: r.jobKey }, r.vector);
      }
      index = next;
    }
    return index;
  };

  const similarTo = async (model: ApplicationAttemptModel, k: number, signal?: AbortSignal) => {
    if (k === 0) return [];
    const idx = await featureIndex(signal);
    return idx.nearest(featuresOf(model), k, {
      excludeJobKey: jobKeyOf(model.application.name),
      exclude: (r) => r.appId === model.appId,
    });
  };

  const toRecord = (data: unknown): Recommendation => data as Recommendation;

  return {
    async analyze(appId, attemptId, opts = {}) {
      const model = await load(appId, attemptId);
      const analysis = await analyzer.analyze(model, opts);
      await store.analyses.save({
        appId: model.appId,
        attemptId: model.attemptId ?? '',
        analyzer: analysis.analyzer,
        version: analysis.version,
        createdAt: analysis.createdAt,
        severity: analysis.severity,
        findings: analysis.findings.map((f) => ({ id: f.id, severity: f.severity })),
        data: analysis,
      });
      return analysis;
    },

    analyzeModel(model, opts = {}) {
      return analyzer.analyze(model, opts);
    },

    async similar(appId, k = 5, opts = {}) {
      return similarTo(await load(appId, opts.attemptId), k, opts.signal);
    },

    async recommend(job, opts = {}) {
      const jobKey = jobKeyOf(job);
      const { signal } = opts;
      const summaries = (
        await store.applications.list({ jobKey, status: 'succeeded', limit: config.historyLimit })
      ).items;
      const history: ApplicationAttemptModel[] = [];
      for (const s of summaries) {
        throwIfAborted(signal);
        const m = await store.applications.get(s.appId, s.attemptId);
        if (m && durationOf(m) > 0) history.push(m);
      }
      const similar: SimilarRun[] = [];
      if (history[0] && config.similarLimit > 0) {
        const neighbours = await similarTo(history[0], config.similarLimit, signal);
        for (const n of neighbours) {
          const m = await store.applications.get(n.appId, n.attemptId);
          if (m) similar.push({ model: m, similarity: n.similarity.value });
        }
      }
      const analysis = history[0] ? await analyzer.analyze(history[0], signal ? { signal } : {}) : undefined;
      const feedback = (await store.feedback.forJob(jobKey)).map((f) => f.data as FeedbackRecord);
      const rec = await recommender.recommend({
        jobKey,
        history,
        ...(analysis ? { analysis } : {}),
        similar,
        objective: opts.objective ?? 'balanced',
        ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
        ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
        pricing: config.pricing,
        ...(opts.declared ? { declared: opts.declared } : {}),
        feedback,
        maxExecutors: config.maxExecutors,
        ...(signal ? { signal } : {}),
      });
      await store.recommendations.save({
        id: rec.id,
        jobKey: rec.jobKey,
        recommender: rec.recommender,
        confidence: rec.confidence,
        createdAt: rec.createdAt,
        data: rec,
      });
      return rec;
    },

    async feedback(recommendationId, outcome) {
      const stored = await store.recommendations.get(recommendationId);
      if (!stored) {
        throw new RecommendError(
          'SPARKPILOT_RECOMMEND_UNKNOWN',
          `No recommendation ${recommendationId} is stored. Use the id a recommendation returned (sparkpilot recommend --format json).`,
        );
      }
      const rec = toRecord(stored.data);
      const record: FeedbackRecord = {
        recommendationId,
        jobKey: rec.jobKey,
        createdAt: Date.now(),
        outcome,
        predictedMs: rec.prediction.durationMs.value,
      };
      if (outcome.rating !== undefined) {
        if (!(outcome.rating >= 1 && outcome.rating <= 5)) {
          throw new ConfigError(
            'SPARKPILOT_CONFIG_INVALID',
            `A feedback rating is a number from 1 (bad) to 5 (good), got ${outcome.rating}.`,
          );
        }
        record.rating = outcome.rating;
      }
      let attemptId: string | undefined;
      if ('appId' in outcome) {
        const run = await load(outcome.appId, outcome.attemptId);
        attemptId = run.attemptId ?? '';
        record.observedMs = durationOf(run);
      }
      await store.feedback.add({
        recommendationId,
        ...('appId' in outcome ? { appId: outcome.appId, attemptId: attemptId ?? '' } : {}),
        createdAt: record.createdAt,
        data: record,
      });
      return record;
    },

    refreshFeatures(opts = {}) {
      return refreshFeatures(opts.signal);
    },

    async recommendation(id) {
      const r = await store.recommendations.get(id);
      return r ? toRecord(r.data) : undefined;
    },
  };
}
