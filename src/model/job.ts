/**
 * Jobs, shaped like the History Server's `JobData` (`/api/v1/applications/{appId}/jobs`).
 * @module
 */

/** Job status. */
export type JobExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'UNKNOWN';

/** A job (`JobData`). */
export interface JobData {
  jobId: number;
  /** Name of the job's last stage (`count at <console>:17`). */
  name: string;
  /** `spark.job.description`, when set. */
  description?: string;
  submissionTime?: string;
  completionTime?: string;
  stageIds: number[];
  /** `spark.jobGroup.id`, when set. */
  jobGroup?: string;
  jobTags: string[];
  status: JobExecutionStatus;
  numTasks: number;
  numActiveTasks: number;
  numCompletedTasks: number;
  numSkippedTasks: number;
  numFailedTasks: number;
  numKilledTasks: number;
  /** Distinct partitions (stage, index) that completed. */
  numCompletedIndices: number;
  numActiveStages: number;
  numCompletedStages: number;
  numSkippedStages: number;
  numFailedStages: number;
  /** Killed tasks by kill reason. */
  killedTasksSummary: Record<string, number>;
  /** The SQL execution that ran this job (`spark.sql.execution.id`), when any. */
  sqlExecutionId?: number;
}
