/**
 * The rows a Knex store writes for one application attempt, and their content hash: pure functions of
 * the model, so that they can be computed where the model is made (an ingest's worker threads) and only
 * strings cross to the thread that writes.
 * @module
 * @internal
 */
import { createHash } from 'node:crypto';
import type { ApplicationAttemptModel } from '../../model/attempt.js';
import { summarize } from '../summary.js';

/** A row of a table: column name to value. */
export type Row = Record<string, unknown>;

const NUL = String.fromCharCode(0);
/** `v` without NUL characters (PostgreSQL text cannot hold them), cut to `max` characters. */
export const clean = (v: string, max: number): string => v.replaceAll(NUL, '').slice(0, max);

/** Rows of the child tables of one attempt, without the attempt's key (filled in once it is known). */
export interface ChildRows {
  jobs: Row[];
  stages: Row[];
  executors: Row[];
  sqlExecutions: Row[];
  failures: Row[];
  tags: Row[];
}

/** One attempt ready to be written: its attempts-table row (without `stored_at`) and its child rows. */
export interface PreparedAttempt {
  base: { appId: string; attemptId: string };
  row: Row;
  children: ChildRows;
}

/** The child rows of an attempt, each model part serialized once (the hash reads the same strings). */
function childRows(m: ApplicationAttemptModel, tags: string[]): ChildRows {
  return {
    jobs: m.jobs.map((j) => ({ job_id: j.jobId, status: j.status, data: JSON.stringify(j) })),
    stages: m.stages.map((s) => ({
      stage_id: s.stageId,
      stage_attempt_id: s.attemptId,
      status: s.status,
      executor_run_time: s.executorRunTime,
      data: JSON.stringify(s),
    })),
    executors: m.executors.map((e) => ({ executor_id: clean(e.id, 255), data: JSON.stringify(e) })),
    sqlExecutions: m.sql.map((q) => ({ execution_id: q.id, status: q.status, data: JSON.stringify(q) })),
    failures: m.failures.map((f, seq) => ({
      seq,
      reason: clean(f.reason, 64),
      class_name: f.className === null ? null : clean(f.className, 512),
      count: f.count,
      data: JSON.stringify(f),
    })),
    tags: [...new Set(tags.map((tag) => clean(tag, 255)))].filter((tag) => tag).map((tag) => ({ tag })),
  };
}

/**
 * A stable hash of what an attempt says (not where it was read from: sources and warnings are left out),
 * over the serialized parts that are stored.
 */
function contentHash(row: Row, m: ApplicationAttemptModel, children: ChildRows): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      m.appId,
      m.attemptId ?? null,
      m.sparkContextId ?? null,
      m.exitCode ?? null,
      m.sparkVersion ?? null,
    ]),
  );
  h.update(JSON.stringify(m.stats));
  // The folder each attempt names as its log source is where it was read from, too.
  const application = {
    ...m.application,
    attempts: m.application.attempts.map(({ logSourceName: _n, logSourceFullPath: _p, ...a }) => a),
  };
  for (const part of [JSON.stringify(application), row.environment, row.tags] as string[])
    h.update(`\n${part}`);
  for (const rows of Object.values(children) as Row[][]) {
    h.update('\n#');
    for (const r of rows) h.update(`\n${String(r.data ?? r.tag)}`);
  }
  return h.digest('hex');
}

/** The rows of one attempt and their content hash, computed before any statement runs. */
export function prepareAttempt(model: ApplicationAttemptModel, tags: string[] | undefined): PreparedAttempt {
  const summary = summarize(model, tags);
  const children = childRows(model, summary.tags);
  const row: Row = {
    app_id: clean(summary.appId, 255),
    attempt_id: clean(summary.attemptId, 64),
    name: clean(summary.name, 512),
    job_key: clean(summary.jobKey, 255),
    spark_user: clean(summary.sparkUser, 255),
    spark_version: clean(summary.sparkVersion, 64),
    status: summary.status,
    start_time: summary.startTime,
    end_time: summary.endTime,
    duration: summary.duration,
    queue: clean(summary.queue, 255),
    cluster: clean(summary.cluster, 255),
    num_jobs: summary.numJobs,
    num_failed_jobs: summary.numFailedJobs,
    num_stages: summary.numStages,
    num_tasks: summary.numTasks,
    num_failed_tasks: summary.numFailedTasks,
    executor_run_time: summary.executorRunTime,
    input_bytes: summary.inputBytes,
    shuffle_read_bytes: summary.shuffleReadBytes,
    shuffle_write_bytes: summary.shuffleWriteBytes,
    memory_bytes_spilled: summary.memoryBytesSpilled,
    disk_bytes_spilled: summary.diskBytesSpilled,
    tags: clean(summary.tags.join('\n'), 2048),
    content_hash: '',
    application: JSON.stringify(model.application),
    environment: JSON.stringify(model.environment),
    extra: JSON.stringify({
      sources: model.sources,
      stats: model.stats,
      warnings: model.warnings,
      ...(model.sparkContextId !== undefined ? { sparkContextId: model.sparkContextId } : {}),
      ...(model.sparkVersion !== undefined ? { sparkVersion: model.sparkVersion } : {}),
      ...(model.exitCode !== undefined ? { exitCode: model.exitCode } : {}),
    }),
  };
  row.content_hash = contentHash(row, model, children);
  return { base: { appId: summary.appId, attemptId: summary.attemptId }, row, children };
}
