/**
 * The normalized model of one Spark application attempt, as every collector produces it.
 * @module
 */
import type { ApplicationInfo } from './application.js';
import type { ApplicationEnvironmentInfo } from './environment.js';
import type { ExecutorSummary } from './executor.js';
import type { FailureSummary } from './failures.js';
import type { JobData } from './job.js';
import type { SqlExecution } from './sql.js';
import type { StageData } from './stage.js';

/** Counters about how the model was read. */
export interface CollectionStats {
  /** Events read (parsed or recognised and skipped). */
  events: number;
  /** Events of types sparkpilot does not model, counted and skipped, by name. */
  unknownEvents: Record<string, number>;
  /** Lines that were not JSON (skipped with a warning). */
  malformedLines: number;
  /** Decompressed bytes read. */
  bytes: number;
  /** Task end events seen. */
  tasks: number;
}

/** A problem that did not stop collection: the file and line it is about, and what happened. */
export interface CollectionWarning {
  /** File (or URL) the warning is about. */
  source: string;
  /** 1-based line, when it is about one line. */
  line?: number;
  /** Stable code of the kind of warning. */
  code: string;
  message: string;
}

/** Everything sparkpilot knows about one application attempt. */
export interface ApplicationAttemptModel {
  appId: string;
  /** Absent when Spark gave no attempt id. */
  attemptId?: string;
  /** The application with this attempt only (`attempts.length === 1`). */
  application: ApplicationInfo;
  jobs: JobData[];
  stages: StageData[];
  /** All executors, the driver included, removed ones included. */
  executors: ExecutorSummary[];
  environment: ApplicationEnvironmentInfo;
  sql: SqlExecution[];
  failures: FailureSummary[];
  /**
   * Databricks' `SparkContext Id` (from `DBCEventLoggingListenerMetadata`), kept as a decimal string because
   * it exceeds 2^53.
   */
  sparkContextId?: string;
  /**
   * The Spark version the log names: `SparkListenerLogStart`'s, or else the one of Databricks'
   * `DBCEventLoggingListenerMetadata`, which the History Server does not read (its `appSparkVersion` is
   * then empty, and so is the model's). Absent when the log names none (Spark 1.2 logs).
   */
  sparkVersion?: string;
  /** The driver's exit code, from `SparkListenerApplicationEnd` (Spark 4.0+). */
  exitCode?: number;
  /** The files this attempt was read from, in read order. */
  sources: string[];
  stats: CollectionStats;
  warnings: CollectionWarning[];
}

/**
 * The Spark version an attempt's log names, or `''`: {@link ApplicationAttemptModel.sparkVersion}, or for a
 * model stored before that field existed, the attempt's `appSparkVersion` (which then held Databricks'
 * version too).
 */
export function sparkVersionOf(model: ApplicationAttemptModel): string {
  return model.sparkVersion ?? model.application.attempts[0]?.appSparkVersion ?? '';
}
