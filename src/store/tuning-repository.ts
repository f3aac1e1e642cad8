/**
 * The storage contracts of tuning: analyses with their findings, recommendations, feedback on them, and the
 * feature vectors that find similar runs. The store knows nothing of the analyzer's or the recommenders'
 * types: a record carries the few fields it is queried by, and the whole object as `data` (any JSON value,
 * stored as JSON text and given back parsed). The default implementations store through Knex
 * (`createKnexStore`); another implementation checks itself with `describeTuningRepositoryConformance` in
 * `sparkpilot/testing`.
 *
 * Keys (ids, job keys, analyzer and recommender names, versions, finding ids) are stored exactly or refused:
 * one that contains NUL or is longer than its limit below makes the write throw a `StoreError`
 * (`SPARKPILOT_STORE_WRITE`), and reading with such a key finds nothing.
 * @module
 */

/** Severities from least to most severe: `none` < `low` < `moderate` < `severe` < `critical`. */
export const SEVERITY_ORDER: readonly string[] = ['none', 'low', 'moderate', 'severe', 'critical'];

/** A stored analysis of one attempt. */
export interface AnalysisRecord {
  appId: string;
  /** `''` when Spark gave no attempt id. */
  attemptId: string;
  /** The analyzer's name (at most 64 characters). */
  analyzer: string;
  /** The analyzer's version (at most 32 characters). */
  version: string;
  /** Epoch ms. */
  createdAt: number;
  /** The worst severity of the analysis, one of {@link SEVERITY_ORDER}. */
  severity: string;
  /** The findings, each by id (at most 128 characters) and severity (one of {@link SEVERITY_ORDER}). */
  findings: { id: string; severity: string }[];
  /** The whole analysis (any JSON value). */
  data: unknown;
}

/** Options of {@link AnalysisRepository.withFinding}. */
export interface FindingQuery {
  /** Only findings at least this severe (one of {@link SEVERITY_ORDER}). */
  minSeverity?: string;
  /** At most this many attempts, 1..10000 (default 100). */
  limit?: number;
}

/** An attempt whose analysis has a finding, with the finding's severity there. */
export interface FindingMatch {
  appId: string;
  attemptId: string;
  severity: string;
}

/** Keeps analyses of stored attempts. */
export interface AnalysisRepository {
  /**
   * Store an analysis; returns its id. It replaces an earlier analysis of the same attempt, analyzer and
   * version, atomically with its findings. The attempt must be stored first: a `StoreError`
   * (`SPARKPILOT_STORE_WRITE`) names it otherwise.
   */
  save(record: AnalysisRecord): Promise<number>;
  /**
   * The newest analysis of an attempt (by `createdAt`), of one analyzer when `analyzer` is given. Without
   * `attemptId`, of the application's latest attempt that has one.
   */
  latest(appId: string, attemptId?: string, analyzer?: string): Promise<AnalysisRecord | undefined>;
  /**
   * Attempts whose analyses have the finding, one row per attempt with the finding's worst severity among
   * the newest analysis of each analyzer; most severe first, then the newest attempts.
   *
   * @example
   * ```ts
   * const skewed = await store.analyses.withFinding('task-skew', { minSeverity: 'severe', limit: 20 });
   * ```
   */
  withFinding(findingId: string, options?: FindingQuery): Promise<FindingMatch[]>;
}

/** A stored recommendation for a recurring job. */
export interface RecommendationRecord {
  /** Stable id (at most 64 characters); feedback refers to it. */
  id: string;
  /** The recurring-job key (at most 255 characters). */
  jobKey: string;
  /** The recommender's name (at most 64 characters). */
  recommender: string;
  /** 0 to 1. */
  confidence: number;
  /** Epoch ms. */
  createdAt: number;
  /** The whole recommendation (any JSON value). */
  data: unknown;
}

/** Keeps recommendations. */
export interface RecommendationRepository {
  /** Store a recommendation. Idempotent by id: saving the same id again replaces the record. */
  save(record: RecommendationRecord): Promise<void>;
  get(id: string): Promise<RecommendationRecord | undefined>;
  /** The newest recommendation for a job (by `createdAt`). */
  latest(jobKey: string): Promise<RecommendationRecord | undefined>;
  /** A job's recommendations, newest first; `limit` 1..1000 (default 50). */
  list(jobKey: string, limit?: number): Promise<RecommendationRecord[]>;
}

/** A stored feedback on a recommendation. */
export interface FeedbackRecordRow {
  /** Set by {@link FeedbackRepository.add}. */
  id?: number;
  recommendationId: string;
  /**
   * The run that used the recommendation, when one was given. Read back while that attempt is stored (a
   * removed attempt leaves the feedback without it).
   */
  appId?: string;
  /** Its attempt; when `appId` is given without it, the application's latest stored attempt. */
  attemptId?: string;
  /** Epoch ms. */
  createdAt: number;
  /** The whole feedback (any JSON value). */
  data: unknown;
}

/** Keeps feedback on recommendations. */
export interface FeedbackRepository {
  /**
   * Store a feedback; returns its id. The recommendation must be stored, and so must the attempt named by
   * `appId` (and `attemptId`): a `StoreError` (`SPARKPILOT_STORE_WRITE`) names what is missing otherwise.
   */
  add(feedback: FeedbackRecordRow): Promise<number>;
  /** The feedback on one recommendation, oldest first. */
  forRecommendation(recommendationId: string): Promise<FeedbackRecordRow[]>;
  /** The feedback on every recommendation for a job, oldest first. */
  forJob(jobKey: string): Promise<FeedbackRecordRow[]>;
}

/** The feature vector of one stored attempt. */
export interface FeatureRecord {
  appId: string;
  /** `''` when Spark gave no attempt id. */
  attemptId: string;
  /** The attempt's recurring-job key (stored as the attempt's is: without NUL, at most 255 characters). */
  jobKey: string;
  /** Version of the features' layout (at most 32 characters); vectors of different versions do not compare. */
  version: string;
  /** Epoch ms. */
  startTime: number;
  /** Finite numbers. */
  vector: number[];
}

/** Keeps one feature vector per stored attempt. */
export interface FeatureRepository {
  /**
   * Store vectors, replacing an attempt's earlier vector (of any version). All or nothing: every attempt
   * must be stored first, and a `StoreError` (`SPARKPILOT_STORE_WRITE`) names the first that is not.
   */
  put(records: FeatureRecord[]): Promise<void>;
  /** Every vector of a version, in the order the attempts were stored. */
  all(version: string, options?: { signal?: AbortSignal }): Promise<FeatureRecord[]>;
  /**
   * Up to `limit` (1..10000) stored attempts without a vector of this version, in the order they were
   * stored: what to compute next.
   *
   * @example
   * ```ts
   * const todo = await store.features.missing('f1', 200);
   * await store.features.put(await Promise.all(todo.map((a) => computeFeatures(a.appId, a.attemptId))));
   * ```
   */
  missing(version: string, limit: number): Promise<{ appId: string; attemptId: string }[]>;
}
