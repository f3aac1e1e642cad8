/**
 * SQL executions, shaped like the History Server's `/api/v1/applications/{appId}/sql` entries
 * (without the plan graph; the physical plan text is kept).
 * @module
 */

/** SQL execution status. */
export type SqlExecutionStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';

/** One SQL execution (a DataFrame action or SQL statement). */
export interface SqlExecution {
  id: number;
  status: SqlExecutionStatus;
  description: string;
  details: string;
  planDescription: string;
  submissionTime: string;
  /** ms; absent while running. */
  duration?: number;
  runningJobIds: number[];
  successJobIds: number[];
  failedJobIds: number[];
  /** The root execution of a nested one (Spark 3.4+); its own id when it is not nested. */
  rootExecutionId: number;
  /** The query's id (Spark 3.5+). */
  queryId?: string;
  /** `""` when it ended without error (Spark 4 logs say so); absent when the log does not say. */
  errorMessage?: string;
  /** The SQL configs the session had changed from their defaults (Spark 3.1+), as Spark redacted them. */
  modifiedConfigs: Record<string, string>;
}
