/**
 * The headline facts of an attempt that lists and filters use, derived from the model the same way by every
 * repository implementation.
 * @module
 */
import { type ApplicationAttemptModel, sparkVersionOf } from '../model/attempt.js';
import type { ApplicationSummary, AttemptStatus } from './repository.js';

/**
 * The recurring-job key of an application name: the name with what changes from run to run (dates, times,
 * UUIDs, long hex ids, numbers) replaced by placeholders, lower-cased and trimmed.
 *
 * @example
 * ```ts
 * jobKeyOf('daily_etl 2026-11-21 run 42'); // 'daily_etl {date} run {n}'
 * ```
 */
export function jobKeyOf(name: string): string {
  return name
    .replace(/\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b/g, '{date}')
    .replace(/\b\d{8}(T?\d{4,6})?\b/g, '{date}')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '{uuid}')
    .replace(/\b[0-9a-f]{16,}\b/gi, '{id}')
    .replace(/\d+/g, '{n}')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
    .slice(0, 255);
}

function property(model: ApplicationAttemptModel, key: string): string | undefined {
  return model.environment.sparkProperties.find(([k]) => k === key)?.[1];
}

/** Tags found in Spark properties: `spark.sparkpilot.tags` and `spark.yarn.tags` (comma-separated). */
export function tagsOf(model: ApplicationAttemptModel, extra: readonly string[] = []): string[] {
  const tags = new Set<string>();
  for (const key of ['spark.sparkpilot.tags', 'spark.yarn.tags']) {
    for (const t of (property(model, key) ?? '').split(',')) if (t.trim()) tags.add(t.trim().slice(0, 255));
  }
  for (const t of extra) if (t.trim()) tags.add(t.trim().slice(0, 255));
  return [...tags].sort();
}

/** Succeeded, failed or incomplete: a completed attempt failed when Spark's exit code says so or its last job failed. */
export function statusOf(model: ApplicationAttemptModel): AttemptStatus {
  const attempt = model.application.attempts[0];
  if (!attempt?.completed) return 'incomplete';
  if (model.exitCode !== undefined) return model.exitCode === 0 ? 'succeeded' : 'failed';
  const last = model.jobs.reduce<(typeof model.jobs)[number] | undefined>(
    (a, j) => (a === undefined || j.jobId > a.jobId ? j : a),
    undefined,
  );
  return last?.status === 'FAILED' ? 'failed' : 'succeeded';
}

/** The summary row of an attempt. */
export function summarize(
  model: ApplicationAttemptModel,
  extraTags: readonly string[] = [],
): ApplicationSummary {
  const attempt = model.application.attempts[0]!;
  let numTasks = 0;
  let numFailedTasks = 0;
  let executorRunTime = 0;
  let inputBytes = 0;
  let shuffleReadBytes = 0;
  let shuffleWriteBytes = 0;
  let memoryBytesSpilled = 0;
  let diskBytesSpilled = 0;
  for (const s of model.stages) {
    numTasks += s.numCompleteTasks + s.numFailedTasks + s.numKilledTasks;
    numFailedTasks += s.numFailedTasks;
    executorRunTime += s.executorRunTime;
    inputBytes += s.inputBytes;
    shuffleReadBytes += s.shuffleReadBytes;
    shuffleWriteBytes += s.shuffleWriteBytes;
    memoryBytesSpilled += s.memoryBytesSpilled;
    diskBytesSpilled += s.diskBytesSpilled;
  }
  const queue = property(model, 'spark.yarn.queue') ?? property(model, 'spark.kubernetes.namespace') ?? '';
  const cluster =
    property(model, 'spark.databricks.clusterUsageTags.clusterName') ?? property(model, 'spark.master') ?? '';
  return {
    appId: model.appId,
    attemptId: model.attemptId ?? '',
    name: model.application.name,
    jobKey: jobKeyOf(model.application.name),
    sparkUser: attempt.sparkUser,
    sparkVersion: sparkVersionOf(model),
    status: statusOf(model),
    startTime: attempt.startTimeEpoch,
    endTime: attempt.endTimeEpoch,
    duration: attempt.duration,
    queue: queue.slice(0, 255),
    cluster: cluster.slice(0, 255),
    tags: tagsOf(model, extraTags),
    numJobs: model.jobs.length,
    numFailedJobs: model.jobs.filter((j) => j.status === 'FAILED').length,
    numStages: model.stages.length,
    numTasks,
    numFailedTasks,
    executorRunTime,
    inputBytes,
    shuffleReadBytes,
    shuffleWriteBytes,
    memoryBytesSpilled,
    diskBytesSpilled,
  };
}
