/**
 * The orchestrator's durable state: pipeline runs, job attempts (with their submission keys, Spark
 * submission ids and leases), and whether each pipeline is paused. The default implementation is
 * `KnexRunRepository`; a host that keeps this state elsewhere implements this interface.
 * @module
 */

/** Where a pipeline run stands. `queued` runs wait for a slot (`maxActiveRuns`) or for other pipelines. */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/**
 * Where one attempt of one job stands:
 * - `pending`: waits for its upstream jobs (a placeholder written by a rerun);
 * - `queued`: ready, to be claimed from `notBefore` on;
 * - `submitting`: claimed by an orchestrator (leased), which submits it under its submission key;
 * - `running`: accepted by the cluster (its submission id is recorded), followed under a lease;
 * - `succeeded`, `failed`: final for this attempt (a retry is a new attempt);
 * - `skipped`: not run because an upstream job failed.
 */
export type JobRunStatus =
  | 'pending'
  | 'queued'
  | 'submitting'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped';

/** Statuses of an attempt that is not finished. */
export const ACTIVE_JOB_RUN_STATUSES: readonly JobRunStatus[] = Object.freeze([
  'pending',
  'queued',
  'submitting',
  'running',
]);

/** Why a run exists. */
export type RunTrigger = 'schedule' | 'backfill' | 'manual';

/** What a run keeps beside its columns. */
export interface RunData {
  trigger: RunTrigger;
  /** For backfill runs: which backfill, its concurrency, and the run's place in its order. */
  backfill?: { id: string; concurrency: number; seq: number };
  /** Epoch ms the run started (left `queued`) and finished. */
  startedAt?: number;
  finishedAt?: number;
}

/** One run of a pipeline over one data interval. */
export interface RunRecord {
  id: string;
  pipeline: string;
  /** Epoch ms, inclusive. */
  intervalStart: number;
  /** Epoch ms, exclusive. */
  intervalEnd: number;
  status: RunStatus;
  createdAt: number;
  updatedAt: number;
  data: RunData;
}

/** What an attempt keeps beside its columns. */
export interface JobRunData {
  /** The Spark application id, once known. */
  appId?: string;
  /** Why it failed or was skipped, or what the cluster said. */
  message?: string;
  exitCode?: number;
  /** Epoch ms of submission (the timeout counts from it) and of the end. */
  submittedAt?: number;
  finishedAt?: number;
  /** The Spark properties it was submitted with. */
  properties?: Record<string, string>;
  /** Where its resources came from: the job's explicit settings, or a recommendation (its id). */
  resources?:
    | { source: 'explicit' | 'fallback' }
    | { source: 'recommendation'; recommendationId: string; confidence: number };
  /** Set when a person marked the job succeeded instead of running it. */
  marked?: boolean;
  /** Set when the attempt was cancelled for running past its timeout. */
  timedOut?: boolean;
  /** Which retry this attempt is (0: the first try, or the first after a rerun). */
  retry?: number;
  /** The stored event log of the run, once collected. */
  eventLog?: { appId: string; attemptId: string; source: string } | { error: string };
}

/** One attempt of one job in one run. */
export interface JobRunRecord {
  /** `<runId>/<job>/<try>` or a hash of it when longer than 64 characters. */
  id: string;
  runId: string;
  pipeline: string;
  job: string;
  /** 1 for the first attempt. */
  try: number;
  status: JobRunStatus;
  /** Recorded before submitting, so a restarted orchestrator can find the submission instead of repeating it. */
  submissionKey: string;
  /** The adapter's id of the submission, once it accepted it. */
  submissionId?: string;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  /** Not claimed before this epoch ms (retry backoff). */
  notBefore: number;
  priority: number;
  pool?: string;
  /** The stored attempt primary key of its event log, once collected. */
  attemptPk?: number;
  createdAt: number;
  updatedAt: number;
  data: JobRunData;
}

/** An attempt as claimed: `takenOver` when it was `submitting` or `running` under an expired lease. */
export type ClaimedJobRun = JobRunRecord & { takenOver: boolean };

/** A change to an attempt. `data` is merged into the stored data (keys set to `undefined` are left out). */
export interface JobRunPatch {
  status?: JobRunStatus;
  submissionId?: string;
  leaseOwner?: string | null;
  leaseExpiresAt?: number | null;
  notBefore?: number;
  attemptPk?: number;
  /** Merged into the stored data (read, merged, written in one transaction). */
  data?: Partial<JobRunData>;
  /** Replaces the stored data without reading it (when the caller holds the whole current data). */
  fullData?: JobRunData;
}

/** One attempt's move in {@link RunRepository.transitionJobRuns}. */
export interface JobRunTransition {
  id: string;
  status: JobRunStatus;
  /** Set when given. */
  submissionId?: string;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** The whole new data. */
  data: JobRunData;
}

/** Conditions an update must meet (optimistic concurrency); the update does nothing when they do not hold. */
export interface JobRunCondition {
  /** The attempt's status must be one of these. */
  status?: readonly JobRunStatus[];
  /** The attempt must be leased to this owner. */
  leaseOwner?: string;
}

/** What {@link RunRepository.claim} takes. */
export interface ClaimRequest {
  /** Who claims (the orchestrator's owner id). */
  owner: string;
  /** Epoch ms. */
  now: number;
  /** The lease lasts until `now + leaseMs`. */
  leaseMs: number;
  /** At most this many attempts. */
  limit: number;
  /** Only attempts of these pipelines (the ones this orchestrator knows). */
  pipelines: readonly string[];
  /**
   * Also claim attempts leased to `owner` whatever their expiry: a restarted orchestrator with a stable
   * owner id takes its own work back at once.
   */
  reclaimOwn?: boolean;
}

/** Durable state of pipeline runs and job attempts. */
export interface RunRepository {
  /** Insert a run; `false` when a run of the same pipeline and interval exists (nothing changes then). */
  createRun(run: RunRecord): Promise<boolean>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** The run of a pipeline over exactly this interval. */
  findRun(pipeline: string, intervalStart: number, intervalEnd: number): Promise<RunRecord | undefined>;
  /** A pipeline's runs, newest interval first; filters by status and interval overlap. */
  listRuns(query: {
    pipeline?: string;
    status?: readonly RunStatus[];
    /** Runs whose interval ends after this (epoch ms). */
    endAfter?: number;
    /** Runs whose interval starts before this (epoch ms). */
    startBefore?: number;
    limit?: number;
  }): Promise<RunRecord[]>;
  /** The end of a pipeline's latest scheduled (not backfilled or manual) run, or undefined. */
  latestScheduledEnd(pipeline: string): Promise<number | undefined>;
  /** Change a run's status (when it is one of `from`); `true` when it changed. */
  setRunStatus(
    id: string,
    status: RunStatus,
    from: readonly RunStatus[],
    now: number,
    data?: Partial<RunData>,
  ): Promise<boolean>;
  /** Every attempt of a run (all tries), ordered by job then try; or of some jobs only. */
  jobRuns(runId: string, jobs?: readonly string[]): Promise<JobRunRecord[]>;
  getJobRun(id: string): Promise<JobRunRecord | undefined>;
  /** Insert attempts; one whose (run, job, try) exists is left alone. Returns the ids inserted. */
  insertJobRuns(rows: readonly JobRunRecord[]): Promise<string[]>;
  /** Change an attempt when `condition` holds; `true` when it changed. */
  updateJobRun(id: string, patch: JobRunPatch, now: number, condition?: JobRunCondition): Promise<boolean>;
  /**
   * Move many attempts at once (one statement per chunk): each to its own status, lease and data, where it
   * is leased to `condition.leaseOwner` and in one of `condition.status`. Returns, per item, whether it moved.
   */
  transitionJobRuns(
    items: readonly JobRunTransition[],
    now: number,
    condition: Required<JobRunCondition>,
  ): Promise<boolean[]>;
  /** How many attempts of a run are not finished. */
  countActive(runId: string): Promise<number>;
  /**
   * Lease attempts to `owner`: queued ones due by `now` (highest priority first, then oldest), and
   * `submitting`/`running` ones whose lease expired (their owner died). Each is moved to `submitting` (if
   * queued) and leased until `now + leaseMs`. Two callers never get the same attempt.
   */
  claim(request: ClaimRequest): Promise<ClaimedJobRun[]>;
  /** Extend the lease of every unfinished attempt leased to `owner` (among `ids`) until `until`. */
  heartbeat(owner: string, ids: readonly string[], until: number): Promise<number>;
  /** The earliest `notBefore` of a queued attempt of these pipelines, or undefined. */
  nextDue(pipelines: readonly string[]): Promise<number | undefined>;
  /** Whether a pipeline is paused. */
  isPaused(pipeline: string): Promise<boolean>;
  setPaused(pipeline: string, paused: boolean, now: number): Promise<void>;
  /**
   * Run `fn` holding a lock on the pipeline's row (`SELECT ... FOR UPDATE` where the dialect has it; SQLite
   * serializes writers anyway), so that processes deciding which runs start do so one at a time.
   */
  withPipelineLock<T>(pipeline: string, now: number, fn: (repo: RunRepository) => Promise<T>): Promise<T>;
}
