/**
 * The recommendation contracts: what a recommender is given (a recurring job's history, similar past runs,
 * the latest analysis, an objective and prices) and what it returns (Spark properties with a predicted
 * duration and cost, an honest confidence, the findings that drove it, and the alternatives on the
 * time-against-cost front). Built-ins: `rule-based`, `similarity`, `model` and `ensemble` (the default).
 * @module
 */
import type { Analysis } from '../analyze/analyzer.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';

/** What to optimize. */
export type Objective = 'cost' | 'time' | 'balanced';

/** Resource settings of one Spark run, in the units Spark's properties use (MiB for memory). */
export interface ResourceSettings {
  executors: number;
  coresPerExecutor: number;
  /** `spark.executor.memory`, MiB. */
  executorMemoryMb: number;
  /** `spark.executor.memoryOverhead`, MiB. */
  memoryOverheadMb: number;
  /** `spark.driver.memory`, MiB. */
  driverMemoryMb: number;
  /** `spark.sql.shuffle.partitions`, when the evidence supports a value. */
  shufflePartitions?: number;
  /**
   * Dynamic allocation bounds, kept when the job's runs used dynamic allocation: `executors` is then the
   * most it may scale to (what the prediction assumes at the busiest stages), `minExecutors` the floor.
   */
  dynamicAllocation?: { minExecutors: number };
}

/** A predicted value with an interval (about 80% of outcomes inside). */
export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** What a setting is expected to cost and take. */
export interface Prediction {
  /** Wall clock, ms. */
  durationMs: Interval;
  /** Cost in the pricing's currency. */
  cost: Interval;
  /** Core-hours and GB-hours the executors hold for the predicted duration. */
  coreHours: number;
  gbHours: number;
}

/** One candidate setting with its prediction. */
export interface Candidate {
  settings: ResourceSettings;
  /** The Spark properties that set it. */
  properties: Record<string, string>;
  prediction: Prediction;
}

/** How the confidence was reached: the evidence, so a user can judge it. */
export interface ConfidenceBasis {
  /** Runs of this job the prediction is based on. */
  historyRuns: number;
  /** Distinct executor settings among them (a scaling model needs several). */
  distinctSettings: number;
  /** Similar runs of other jobs used, and their mean similarity (0 to 1). */
  similarRuns: number;
  meanSimilarity: number;
  /** The predictor's mean absolute percentage error on this job's own history (leave one out), when known. */
  historyMape?: number;
  /** Plain sentences: why the confidence is what it is. */
  reasons: string[];
}

/** A recommendation for a recurring job. */
export interface Recommendation {
  /** Stable id (feedback refers to it). */
  id: string;
  /** The recurring-job key it is for. */
  jobKey: string;
  recommender: string;
  /** Epoch ms. */
  createdAt: number;
  objective: Objective;
  deadlineMs?: number;
  budget?: number;
  settings: ResourceSettings;
  /** The Spark properties to run with. */
  properties: Record<string, string>;
  prediction: Prediction;
  /** 0 to 1, from the evidence (see `basis`). */
  confidence: number;
  basis: ConfidenceBasis;
  /** Ids of the findings that shaped it. */
  findings: string[];
  /** Other settings on the time-against-cost front (none faster and cheaper at once), fastest first. */
  alternatives: Candidate[];
  /** The runs it is based on, newest first. */
  basedOn: { appId: string; attemptId: string }[];
  /** Sentences for people: what changes and why. */
  notes: string[];
}

/** Prices of resources. Either per core-hour and GB-hour, or per instance type. */
export interface Pricing {
  /** Price of one executor core for one hour. */
  corePerHour: number;
  /** Price of one GB of executor memory (heap plus overhead) for one hour. */
  gbPerHour: number;
  /**
   * Instance types: when given, executors are packed onto instances and the cost is the instances'
   * price; a candidate's cores and memory per executor must fit one instance.
   */
  instanceTypes?: { name: string; cores: number; memoryGb: number; pricePerHour: number }[];
}

/** A past run of another job that resembles this one. */
export interface SimilarRun {
  model: ApplicationAttemptModel;
  /** 0 to 1. */
  similarity: number;
}

/** What a recommender is given. */
export interface RecommendContext {
  jobKey: string;
  /** Complete runs of this job, newest first (may be empty: a new job). */
  history: ApplicationAttemptModel[];
  /** The analysis of the newest run, when there is one. */
  analysis?: Analysis;
  /** Similar runs of other jobs, most similar first. */
  similar: SimilarRun[];
  objective: Objective;
  deadlineMs?: number;
  budget?: number;
  pricing: Pricing;
  /** The settings declared for the job (its fallback), when known. */
  declared?: ResourceSettings;
  /** Earlier recommendations for this job with the runs that followed them (the feedback loop). */
  feedback: FeedbackRecord[];
  /** The most executors a recommendation may ask for. */
  maxExecutors: number;
  signal?: AbortSignal;
}

/** The outcome of using a recommendation. */
export type FeedbackOutcome =
  | { appId: string; attemptId?: string; rating?: number; comment?: string }
  | { rating: number; comment?: string };

/** A stored feedback: the recommendation, the run that used it (when given) and how it went. */
export interface FeedbackRecord {
  recommendationId: string;
  jobKey: string;
  createdAt: number;
  outcome: FeedbackOutcome;
  /** The recommendation's predicted duration, ms. */
  predictedMs: number;
  /** The run's observed duration, ms, when the outcome names a stored run. */
  observedMs?: number;
  /** 1 (bad) to 5 (good), when rated. */
  rating?: number;
}

/** A recommender. */
export interface Recommender {
  readonly name: string;
  recommend(context: RecommendContext): Promise<Recommendation>;
}
