/**
 * Schema version 4: what the orchestrator needs to run jobs durably and from several processes. Adds to
 * `job_runs` the columns the claim query filters and sorts by (pipeline, not_before, priority, pool,
 * created_at), a unique `(run_id, job, try)` so that two processes advancing one run cannot insert the same
 * attempt twice, and indexes for claiming and for a run's active attempts; adds the `pipelines` table (paused
 * or not, per pipeline). Version 1 never wrote these tables, so nothing is lost.
 * @module
 */
import type { Knex } from 'knex';
import type { TableNames } from '../tables.js';

/** Add the orchestrator's columns, indexes and the pipelines table. */
export async function up(knex: Knex, t: TableNames): Promise<void> {
  await knex.schema.alterTable(t.jobRuns, (x) => {
    x.string('pipeline', 255).notNullable().defaultTo('');
    x.bigInteger('not_before').notNullable().defaultTo(0);
    x.integer('priority').notNullable().defaultTo(0);
    x.string('pool', 128).nullable();
    x.bigInteger('created_at').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable(t.jobRuns, (x) => {
    x.unique(['run_id', 'job', 'try'], { indexName: `${t.jobRuns}_attempt_unique` });
    x.index(['status', 'not_before'], `${t.jobRuns}_claim_index`);
    x.index(['run_id', 'status'], `${t.jobRuns}_run_status_index`);
    x.index(['lease_owner', 'status'], `${t.jobRuns}_owner_index`);
  });
  await knex.schema.alterTable(t.runs, (x) => {
    x.index(['pipeline', 'status'], `${t.runs}_pipeline_status_index`);
    x.index(['pipeline', 'interval_end'], `${t.runs}_pipeline_end_index`);
  });
  await knex.schema.createTable(t.pipelines, (x) => {
    x.string('name', 255).primary();
    x.boolean('paused').notNullable().defaultTo(false);
    x.bigInteger('updated_at').notNullable();
    x.text('data', 'longtext');
  });
}

/** Remove them again. */
export async function down(knex: Knex, t: TableNames): Promise<void> {
  await knex.schema.dropTableIfExists(t.pipelines);
  await knex.schema.alterTable(t.runs, (x) => {
    x.dropIndex(['pipeline', 'status'], `${t.runs}_pipeline_status_index`);
    x.dropIndex(['pipeline', 'interval_end'], `${t.runs}_pipeline_end_index`);
  });
  await knex.schema.alterTable(t.jobRuns, (x) => {
    x.dropUnique(['run_id', 'job', 'try'], `${t.jobRuns}_attempt_unique`);
    x.dropIndex(['status', 'not_before'], `${t.jobRuns}_claim_index`);
    x.dropIndex(['run_id', 'status'], `${t.jobRuns}_run_status_index`);
    x.dropIndex(['lease_owner', 'status'], `${t.jobRuns}_owner_index`);
  });
  await knex.schema.alterTable(t.jobRuns, (x) => {
    x.dropColumn('pipeline');
    x.dropColumn('not_before');
    x.dropColumn('priority');
    x.dropColumn('pool');
    x.dropColumn('created_at');
  });
}
