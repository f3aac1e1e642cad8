/**
 * Task failures grouped by reason, with sample messages: what failed, how often, and an example of why.
 * @module
 */

/** Why a task attempt did not succeed (`TaskEndReason` in Spark). */
export type TaskFailureReason =
  | 'ExceptionFailure'
  | 'FetchFailed'
  | 'ExecutorLostFailure'
  | 'TaskKilled'
  | 'TaskCommitDenied'
  | 'TaskResultLost'
  | 'Resubmitted'
  | 'UnknownReason'
  | (string & {});

/** Task failures of one reason (and, for exceptions, one exception class). */
export interface FailureSummary {
  reason: TaskFailureReason;
  /** Exception class for `ExceptionFailure`; kill reason for `TaskKilled`; `null` otherwise. */
  className: string | null;
  count: number;
  /** Stage ids where it happened. */
  stageIds: number[];
  /** Executor ids where it happened. */
  executorIds: string[];
  /** Up to a few distinct messages, first seen first. */
  sampleMessages: string[];
}
