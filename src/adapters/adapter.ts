/**
 * The `SubmissionAdapter` contract: how the orchestrator submits a Spark application to a cluster, follows
 * it to a terminal state, and (where the cluster allows) cancels it, reads its logs, and finds it again after
 * a restart.
 *
 * Built-ins live one per file beside this one: `in-memory.ts` (for tests) now; `spark-submit.ts`,
 * `standalone-rest.ts` and `livy.ts` next.
 * @module
 */

/** What to run: a PySpark / R / SQL file, or a JVM main class in a jar. */
export type SubmissionApplication = { file: string } | { className: string; jar: string };

/** One submission of one job attempt. */
export interface SubmissionRequest {
  /**
   * Unique per job attempt. The orchestrator records it before submitting, so that an orchestrator that
   * restarts mid-submit can look the attempt up ({@link SubmissionAdapter.findBySubmissionKey}) instead of
   * submitting it a second time.
   */
  submissionKey: string;
  /** What to run. */
  application: SubmissionApplication;
  /** Arguments passed to the application's main. */
  args: string[];
  /** Spark properties (`spark.executor.memory`, ...), as `--conf key=value` would pass them. */
  properties: Record<string, string>;
  /** The job's name (`spark.app.name`); adapters may use it to identify the job. */
  name: string;
}

/** What a cluster returned for an accepted submission. */
export interface Submission {
  /** The adapter's id of this submission (driver id, Livy batch id, process id, ...). */
  submissionId: string;
  /** The key of the request this submission was made for. */
  submissionKey: string;
  /** The Spark application id, once known (often only after the driver starts). */
  appId?: string;
}

/**
 * The state of a submission. `SUCCEEDED`, `FAILED` and `KILLED` are terminal ({@link isTerminal}); `UNKNOWN`
 * means the cluster cannot tell right now (for example, the driver's host is lost) and is not terminal.
 */
export type SubmissionState = 'SUBMITTED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'KILLED' | 'UNKNOWN';

/** Where a submission stands. */
export interface SubmissionStatus {
  state: SubmissionState;
  /** The Spark application id, once known. */
  appId?: string;
  /** A human-readable detail from the cluster (why it failed, why it is unknown). */
  message?: string;
  /** The driver's exit code, when the cluster reports one. */
  exitCode?: number;
}

/** Options every adapter call accepts. */
export interface AdapterCallOptions {
  /** Cancels the call (not the submission); the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * What an adapter can do beyond submit and status. Each `true` promises the matching optional method;
 * the conformance suite skips what an adapter declares it lacks.
 */
export interface AdapterCapabilities {
  /** Implements {@link SubmissionAdapter.cancel}. */
  cancel: boolean;
  /** Implements {@link SubmissionAdapter.logs}. */
  logs: boolean;
  /** Can run statements in a long-lived Spark session (Livy sessions); no method in the contract yet. */
  sessions: boolean;
  /**
   * Implements {@link SubmissionAdapter.findBySubmissionKey}, and `submit` with a key already submitted
   * returns that submission instead of starting a second run.
   */
  findBySubmissionKey: boolean;
}

/**
 * Submits Spark applications to one cluster and follows them.
 *
 * Every method rejects with a `SubmissionError` when the cluster refuses or cannot be reached, and
 * with `signal.reason` (unchanged) when its signal aborts.
 *
 * @example
 * ```ts
 * const submission = await adapter.submit({
 *   submissionKey: `nightly-etl/2024-06-01/attempt-1`,
 *   application: { file: 's3://jobs/etl.py' },
 *   args: ['--date', '2024-06-01'],
 *   properties: { 'spark.executor.memory': '8g' },
 *   name: 'nightly-etl',
 * });
 * let status = await adapter.status(submission.submissionId);
 * while (!isTerminal(status.state)) {
 *   await new Promise((r) => setTimeout(r, 5_000));
 *   status = await adapter.status(submission.submissionId);
 * }
 * ```
 */
export interface SubmissionAdapter {
  /** The registry name (`in-memory`, `spark-submit`, `livy`, ...). */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  /**
   * Submit one job attempt. Resolves once the cluster has accepted it (not when it finishes). Rejects with
   * `SPARKPILOT_SUBMIT_REJECTED` (not retryable) when the cluster refuses the request, and
   * `SPARKPILOT_SUBMIT_UNREACHABLE` (retryable) when it cannot be reached.
   */
  submit(request: SubmissionRequest, options?: AdapterCallOptions): Promise<Submission>;
  /** Where a submission stands. Rejects with `SPARKPILOT_SUBMIT_UNKNOWN_ID` for an id the cluster does not know. */
  status(submissionId: string, options?: AdapterCallOptions): Promise<SubmissionStatus>;
  /**
   * Ask the cluster to kill a submission; its state becomes `KILLED`. Cancelling a finished submission does
   * nothing. Present when `capabilities.cancel`.
   */
  cancel?(submissionId: string, options?: AdapterCallOptions): Promise<void>;
  /** The driver's log (or its tail), as text. Present when `capabilities.logs`. */
  logs?(submissionId: string, options?: AdapterCallOptions): Promise<string>;
  /**
   * The submission made earlier for a key, or `undefined` when none was. The orchestrator calls it after a
   * restart, before submitting again. Present when `capabilities.findBySubmissionKey`.
   */
  findBySubmissionKey?(submissionKey: string, options?: AdapterCallOptions): Promise<Submission | undefined>;
  /**
   * Optional: resolves with the final status once the submission reaches a terminal state (rejects with
   * `signal.reason` when aborted). Adapters that learn of the end without polling (the in-memory one)
   * implement it; the orchestrator polls {@link SubmissionAdapter.status} otherwise.
   */
  wait?(submissionId: string, options?: AdapterCallOptions): Promise<SubmissionStatus>;
}

/** Whether a state is final: `SUCCEEDED`, `FAILED` or `KILLED`. */
export function isTerminal(state: SubmissionState): boolean {
  return state === 'SUCCEEDED' || state === 'FAILED' || state === 'KILLED';
}

export { SubmissionError, type SubmissionErrorCode, type SubmissionErrorOptions } from '../errors.js';
