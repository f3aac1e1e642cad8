/**
 * Schema version 1: application attempts with their jobs, stages, executors, SQL executions, failures and
 * tags; the ingest ledger; and the tables later features fill (analyses, findings, recommendations,
 * feedback, orchestrator runs).
 * @module
 */
import type { Knex } from 'knex';
import type { TableNames } from '../tables.js';

/**
 * A string column compared exactly: MySQL/MariaDB compare case- and trailing-space-insensitively by default,
 * so sparkpilot's text columns use the binary collation there (other dialects ignore `collate`).
 */
function exact(t: Knex.CreateTableBuilder, name: string, length: number): Knex.ColumnBuilder {
  return t.string(name, length).collate('utf8mb4_bin');
}

/** Large JSON payloads: TEXT is 64 KiB on MySQL, so use LONGTEXT there. */
function json(t: Knex.CreateTableBuilder, name: string): Knex.ColumnBuilder {
  return t.text(name, 'longtext');
}

/** Create the tables. */
export async function up(knex: Knex, t: TableNames): Promise<void> {
  await knex.schema.createTable(t.attempts, (a) => {
    a.increments('id').primary();
    exact(a, 'app_id', 255).notNullable();
    exact(a, 'attempt_id', 64).notNullable().defaultTo('');
    // 512 characters keep (name, id) under MySQL's 3072-byte index limit in utf8mb4; the full name is in `application`.
    exact(a, 'name', 512).notNullable().defaultTo('');
    exact(a, 'job_key', 255).notNullable().defaultTo('');
    exact(a, 'spark_user', 255).notNullable().defaultTo('');
    exact(a, 'spark_version', 64).notNullable().defaultTo('');
    exact(a, 'status', 16).notNullable();
    a.bigInteger('start_time').notNullable();
    a.bigInteger('end_time').notNullable();
    a.bigInteger('duration').notNullable();
    exact(a, 'queue', 255).notNullable().defaultTo('');
    exact(a, 'cluster', 255).notNullable().defaultTo('');
    a.integer('num_jobs').notNullable().defaultTo(0);
    a.integer('num_failed_jobs').notNullable().defaultTo(0);
    a.integer('num_stages').notNullable().defaultTo(0);
    a.bigInteger('num_tasks').notNullable().defaultTo(0);
    a.bigInteger('num_failed_tasks').notNullable().defaultTo(0);
    a.bigInteger('executor_run_time').notNullable().defaultTo(0);
    a.bigInteger('input_bytes').notNullable().defaultTo(0);
    a.bigInteger('shuffle_read_bytes').notNullable().defaultTo(0);
    a.bigInteger('shuffle_write_bytes').notNullable().defaultTo(0);
    a.bigInteger('memory_bytes_spilled').notNullable().defaultTo(0);
    a.bigInteger('disk_bytes_spilled').notNullable().defaultTo(0);
    exact(a, 'tags', 2048).notNullable().defaultTo('');
    a.string('content_hash', 64).notNullable();
    json(a, 'application');
    json(a, 'environment');
    json(a, 'extra');
    a.bigInteger('stored_at').notNullable();
    a.unique(['app_id', 'attempt_id']);
    a.index(['start_time', 'id']);
    a.index(['end_time', 'id']);
    a.index(['duration', 'id']);
    a.index(['name', 'id']);
    a.index(['job_key', 'start_time']);
    a.index(['spark_user', 'start_time']);
    a.index(['status', 'start_time']);
    a.index(['queue', 'start_time']);
    a.index(['cluster', 'start_time']);
  });
  const child = (name: string, build: (c: Knex.CreateTableBuilder) => void) =>
    knex.schema.createTable(name, (c) => {
      c.integer('attempt_pk')
        .unsigned()
        .notNullable()
        .references('id')
        .inTable(t.attempts)
        .onDelete('CASCADE');
      build(c);
    });
  await child(t.jobs, (c) => {
    c.integer('job_id').notNullable();
    c.string('status', 16).notNullable();
    json(c, 'data');
    c.primary(['attempt_pk', 'job_id']);
  });
  await child(t.stages, (c) => {
    c.integer('stage_id').notNullable();
    c.integer('stage_attempt_id').notNullable();
    c.string('status', 16).notNullable();
    c.bigInteger('executor_run_time').notNullable().defaultTo(0);
    json(c, 'data');
    c.primary(['attempt_pk', 'stage_id', 'stage_attempt_id']);
  });
  await child(t.executors, (c) => {
    exact(c, 'executor_id', 255).notNullable();
    json(c, 'data');
    c.primary(['attempt_pk', 'executor_id']);
  });
  await child(t.sqlExecutions, (c) => {
    c.bigInteger('execution_id').notNullable();
    c.string('status', 16).notNullable();
    json(c, 'data');
    c.primary(['attempt_pk', 'execution_id']);
  });
  await child(t.failures, (c) => {
    c.integer('seq').notNullable();
    c.string('reason', 64).notNullable();
    c.string('class_name', 512).nullable();
    c.integer('count').notNullable();
    json(c, 'data');
    c.primary(['attempt_pk', 'seq']);
  });
  await child(t.tags, (c) => {
    exact(c, 'tag', 255).notNullable();
    c.primary(['attempt_pk', 'tag']);
    c.index(['tag', 'attempt_pk']);
  });
  await knex.schema.createTable(t.ingestedFiles, (f) => {
    f.string('path_hash', 64).primary();
    f.text('path').notNullable();
    f.bigInteger('size').notNullable();
    f.bigInteger('mtime_ms').notNullable();
    f.text('signature').notNullable();
    f.string('app_id', 255).nullable();
    f.string('attempt_id', 64).nullable();
    f.string('outcome', 16).notNullable();
    f.text('error').nullable();
    f.bigInteger('ingested_at').notNullable();
  });
  // Tables for analyses, recommendations, feedback and orchestrator runs (filled by later features).
  await knex.schema.createTable(t.analyses, (x) => {
    x.increments('id').primary();
    x.integer('attempt_pk').unsigned().notNullable().references('id').inTable(t.attempts).onDelete('CASCADE');
    x.string('analyzer', 64).notNullable();
    x.string('version', 32).notNullable();
    x.bigInteger('created_at').notNullable();
    json(x, 'data');
    x.index(['attempt_pk', 'analyzer']);
  });
  await knex.schema.createTable(t.findings, (x) => {
    x.increments('id').primary();
    x.integer('analysis_id')
      .unsigned()
      .notNullable()
      .references('id')
      .inTable(t.analyses)
      .onDelete('CASCADE');
    x.string('finding_id', 128).notNullable();
    x.string('severity', 16).notNullable();
    json(x, 'data');
    x.index(['finding_id', 'severity']);
  });
  await knex.schema.createTable(t.recommendations, (x) => {
    x.string('id', 64).primary();
    x.string('job_key', 255).notNullable();
    x.string('recommender', 64).notNullable();
    x.float('confidence').notNullable();
    x.bigInteger('created_at').notNullable();
    json(x, 'data');
    x.index(['job_key', 'created_at']);
  });
  await knex.schema.createTable(t.feedback, (x) => {
    x.increments('id').primary();
    x.string('recommendation_id', 64)
      .notNullable()
      .references('id')
      .inTable(t.recommendations)
      .onDelete('CASCADE');
    x.integer('attempt_pk').unsigned().nullable().references('id').inTable(t.attempts).onDelete('SET NULL');
    x.bigInteger('created_at').notNullable();
    json(x, 'data');
    x.index(['recommendation_id']);
  });
  await knex.schema.createTable(t.runs, (x) => {
    x.string('id', 64).primary();
    x.string('pipeline', 255).notNullable();
    x.bigInteger('interval_start').notNullable();
    x.bigInteger('interval_end').notNullable();
    x.string('status', 16).notNullable();
    x.bigInteger('created_at').notNullable();
    x.bigInteger('updated_at').notNullable();
    json(x, 'data');
    x.unique(['pipeline', 'interval_start', 'interval_end']);
    x.index(['status', 'updated_at']);
  });
  await knex.schema.createTable(t.jobRuns, (x) => {
    x.string('id', 64).primary();
    x.string('run_id', 64).notNullable().references('id').inTable(t.runs).onDelete('CASCADE');
    x.string('job', 255).notNullable();
    x.integer('try').notNullable();
    x.string('status', 16).notNullable();
    x.string('submission_key', 128).notNullable().unique();
    x.string('submission_id', 255).nullable();
    x.string('lease_owner', 128).nullable();
    x.bigInteger('lease_expires_at').nullable();
    x.integer('attempt_pk').unsigned().nullable().references('id').inTable(t.attempts).onDelete('SET NULL');
    x.bigInteger('updated_at').notNullable();
    json(x, 'data');
    x.index(['run_id', 'job']);
    x.index(['status', 'lease_expires_at']);
  });
}

/** Drop the tables (children first). */
export async function down(knex: Knex, t: TableNames): Promise<void> {
  for (const name of [
    t.jobRuns,
    t.runs,
    t.feedback,
    t.recommendations,
    t.findings,
    t.analyses,
    t.ingestedFiles,
    t.tags,
    t.failures,
    t.sqlExecutions,
    t.executors,
    t.stages,
    t.jobs,
    t.attempts,
  ]) {
    await knex.schema.dropTableIfExists(name);
  }
}
