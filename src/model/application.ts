/**
 * Applications and their attempts, shaped like the History Server REST API v1
 * (`/api/v1/applications/{appId}`): same field names, units (milliseconds, bytes) and date strings.
 * @module
 */

/** One attempt of an application (`ApplicationAttemptInfo`). */
export interface ApplicationAttemptInfo {
  /** The attempt id Spark gave (YARN, multi-attempt apps); absent when Spark gave none. */
  attemptId?: string;
  /** Start, as the History Server prints it: `2015-02-03T16:42:59.720GMT`. */
  startTime: string;
  /** End; `1969-12-31T23:59:59.999GMT` (epoch -1) while incomplete. */
  endTime: string;
  /** Time of the last event read. */
  lastUpdated: string;
  /** Wall clock in ms (`endTime - startTime`); 0 while incomplete. */
  duration: number;
  /** The user who ran the application. */
  sparkUser: string;
  /** Whether the log holds `SparkListenerApplicationEnd`. */
  completed: boolean;
  /** Spark version from `SparkListenerLogStart`; `""` when the log has none (Spark 1.2). */
  appSparkVersion: string;
  /** `startTime` in epoch ms. */
  startTimeEpoch: number;
  /** `endTime` in epoch ms (-1 while incomplete). */
  endTimeEpoch: number;
  /** `lastUpdated` in epoch ms. */
  lastUpdatedEpoch: number;
  /** The driver's exit code from `SparkListenerApplicationEnd` (Spark 4.0+); absent while incomplete. */
  exitCode?: number;
  /**
   * The folder the log was read from, as a `file:` URL (for a rolling or Spark 1.2 log folder, the folder
   * holding it). The History Server (4.2+) gives the log directory it was configured with, which is the same
   * folder when it reads the one the log is in; sparkpilot gives it for logs read from files, not from zips.
   */
  logSourceName?: string;
  /** As {@link ApplicationAttemptInfo.logSourceName}: without a display name, the History Server gives the same. */
  logSourceFullPath?: string;
}

/** An application (`ApplicationInfo`). */
export interface ApplicationInfo {
  /** Application id (`spark.app.id`): `local-…`, `app-…`, `application_…`, `spark-…`. */
  id: string;
  /** Application name (`spark.app.name`). */
  name: string;
  /** Attempts, newest first. */
  attempts: ApplicationAttemptInfo[];
}

/** The History Server's date format: ISO-8601 with `GMT` instead of `Z`. */
export function formatSparkDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', 'GMT');
}

/** Epoch ms of a History Server date (`2015-02-03T16:42:59.720GMT`); `NaN` when absent or malformed. */
export function parseSparkDate(date: string | undefined): number {
  return date ? Date.parse(date.replace(/GMT$/, 'Z')) : Number.NaN;
}
