/**
 * Table names, with the configurable prefix, so sparkpilot can live inside a host's database.
 * @module
 */

/** The names of sparkpilot's tables for a prefix. */
export function tableNames(prefix: string) {
  return {
    migrations: `${prefix}migrations`,
    migrationsLock: `${prefix}migrations_lock`,
    attempts: `${prefix}attempts`,
    jobs: `${prefix}jobs`,
    stages: `${prefix}stages`,
    executors: `${prefix}executors`,
    sqlExecutions: `${prefix}sql_executions`,
    failures: `${prefix}failures`,
    tags: `${prefix}attempt_tags`,
    ingestedFiles: `${prefix}ingested_files`,
    analyses: `${prefix}analyses`,
    findings: `${prefix}findings`,
    recommendations: `${prefix}recommendations`,
    feedback: `${prefix}feedback`,
    features: `${prefix}features`,
    runs: `${prefix}runs`,
    jobRuns: `${prefix}job_runs`,
    pipelines: `${prefix}pipelines`,
  } as const;
}

/** sparkpilot's table names. */
export type TableNames = ReturnType<typeof tableNames>;
