/**
 * The storage contracts: what sparkpilot keeps about applications, and how hosts query it. The default
 * implementation stores through the host's Knex instance (`createKnexStore`); a host that stores data
 * elsewhere implements these interfaces and checks them with the repository conformance suite in
 * `sparkpilot/testing`.
 * @module
 */
import type { ApplicationAttemptModel } from '../model/attempt.js';

/** What saving an attempt did. */
export type SaveOutcome = 'new' | 'updated' | 'unchanged';

/** The result of {@link ApplicationRepository.save}. */
export interface SaveResult {
  outcome: SaveOutcome;
  appId: string;
  /** `''` when Spark gave no attempt id. */
  attemptId: string;
}

/** Status of a stored attempt: still running (no application end), or ended well or badly. */
export type AttemptStatus = 'incomplete' | 'succeeded' | 'failed';

/** One row of an application list: the attempt's headline facts. */
export interface ApplicationSummary {
  appId: string;
  /** `''` when Spark gave no attempt id. */
  attemptId: string;
  name: string;
  /** The recurring-job key: the application name with dates, numbers and ids normalized away. */
  jobKey: string;
  sparkUser: string;
  sparkVersion: string;
  status: AttemptStatus;
  /** Epoch ms; -1 when unknown. */
  startTime: number;
  /** Epoch ms; -1 while incomplete. */
  endTime: number;
  /** ms; 0 while incomplete. */
  duration: number;
  /** YARN queue (`spark.yarn.queue`), Kubernetes namespace, or `''`. */
  queue: string;
  /** `spark.master`, or the cluster name a platform gives (`spark.databricks.clusterUsageTags.clusterName`). */
  cluster: string;
  tags: string[];
  numJobs: number;
  numFailedJobs: number;
  numStages: number;
  numTasks: number;
  numFailedTasks: number;
  executorRunTime: number;
  inputBytes: number;
  shuffleReadBytes: number;
  shuffleWriteBytes: number;
  memoryBytesSpilled: number;
  diskBytesSpilled: number;
}

/** Sort orders of {@link ApplicationQuery}. */
export type ApplicationSort = 'startTime' | 'endTime' | 'duration' | 'name';

/** Filters, order and page of an application list. Every field is optional; all filters must match. */
export interface ApplicationQuery {
  appId?: string;
  name?: string;
  /** Name starts with (case-sensitive). */
  namePrefix?: string;
  jobKey?: string;
  sparkUser?: string;
  status?: AttemptStatus | AttemptStatus[];
  queue?: string;
  cluster?: string;
  /** Attempts carrying every one of these tags. */
  tags?: string[];
  sparkVersion?: string;
  /** Started at or after (epoch ms). */
  startedAfter?: number;
  /** Started before (epoch ms). */
  startedBefore?: number;
  minDuration?: number;
  maxDuration?: number;
  sort?: ApplicationSort;
  /** Default `desc`. */
  order?: 'asc' | 'desc';
  /** Page size, 1..1000 (default 50). */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
}

/** A page of results with a stable cursor to the next one. */
export interface Page<T> {
  items: T[];
  /** Absent on the last page. */
  nextCursor?: string;
}

/** Options of a save. */
export interface SaveOptions {
  /** Tags to store with the attempt, added to those found in its Spark properties. */
  tags?: string[];
  signal?: AbortSignal;
}

/** Stores application attempts and answers queries about them. */
export interface ApplicationRepository {
  /**
   * Store an attempt. Idempotent: the same attempt saved twice changes nothing (`unchanged`); an attempt
   * saved again with new content (an in-progress log read later) replaces the old one (`updated`).
   * Atomic: either all of it is stored or none.
   */
  save(model: ApplicationAttemptModel, options?: SaveOptions): Promise<SaveResult>;
  /**
   * Store several attempts, each as {@link ApplicationRepository.save} would (idempotent, each atomic),
   * with results in the order of `models`. An implementation may write them together for speed; an
   * ingest stores through it.
   */
  saveMany(models: readonly ApplicationAttemptModel[], options?: SaveOptions): Promise<SaveResult[]>;
  /** One attempt with everything about it; the latest attempt when `attemptId` is omitted. */
  get(appId: string, attemptId?: string): Promise<ApplicationAttemptModel | undefined>;
  /** Attempts of an application, newest first. */
  attempts(appId: string): Promise<ApplicationSummary[]>;
  /** Filter, sort and page. */
  list(query?: ApplicationQuery): Promise<Page<ApplicationSummary>>;
  /** Remove an attempt (or every attempt of the application); returns how many were removed. */
  remove(appId: string, attemptId?: string): Promise<number>;
}
