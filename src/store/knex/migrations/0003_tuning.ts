/**
 * Schema version 3: what the analyzer and recommenders keep. Adds the `features` table (one feature vector
 * per attempt), the `severity` of an analysis, and the indexes the tuning repositories query by; makes the
 * keys of analyses, findings, recommendations and feedback compare exactly on MySQL/MariaDB (binary
 * collation, as every text column of version 1's attempts) and a recommendation's confidence a double
 * (PostgreSQL `real` and MySQL `float(8,2)` rounded it). Rows of earlier versions are kept: existing
 * analyses get severity `none`.
 * @module
 */
import type { Knex } from 'knex';
import type { TableNames } from '../tables.js';

const dialectOf = (knex: Knex): string => String((knex.client as { dialect?: string }).dialect);

/** A string column compared exactly (binary collation on MySQL/MariaDB; other dialects ignore `collate`). */
function exact(t: Knex.TableBuilder, name: string, length: number): Knex.ColumnBuilder {
  return t.string(name, length).collate('utf8mb4_bin');
}

/**
 * Key columns of the version-1 tuning tables, which version 1 created with the database's default collation
 * (case- and accent-insensitive on MySQL/MariaDB).
 */
const KEY_COLUMNS = (t: TableNames): [table: string, column: string, length: number][] => [
  [t.analyses, 'analyzer', 64],
  [t.analyses, 'version', 32],
  [t.findings, 'finding_id', 128],
  [t.findings, 'severity', 16],
  [t.recommendations, 'id', 64],
  [t.recommendations, 'job_key', 255],
  [t.recommendations, 'recommender', 64],
  [t.feedback, 'recommendation_id', 64],
];

/** Create the features table and the tuning tables' new column and indexes. */
export async function up(knex: Knex, t: TableNames): Promise<void> {
  const dialect = dialectOf(knex);
  const mysql = dialect === 'mysql';
  if (mysql) {
    // MariaDB refuses to change the collation of a column in a foreign key, even with the checks off: the
    // one key between these tables is dropped and made again around the change.
    await knex.schema.alterTable(t.feedback, (x) => x.dropForeign(['recommendation_id']));
    for (const [table, column, length] of KEY_COLUMNS(t)) {
      await knex.raw(`alter table ?? modify ?? varchar(${length}) collate utf8mb4_bin not null`, [
        table,
        column,
      ]);
    }
    await knex.schema.alterTable(t.feedback, (x) =>
      x.foreign('recommendation_id').references('id').inTable(t.recommendations).onDelete('CASCADE'),
    );
    await knex.raw('alter table ?? modify ?? double not null', [t.recommendations, 'confidence']);
  } else if (dialect === 'postgresql') {
    await knex.raw('alter table ?? alter column ?? type double precision', [t.recommendations, 'confidence']);
  }
  await knex.schema.alterTable(t.analyses, (x) => {
    exact(x, 'severity', 16).notNullable().defaultTo('none');
    // Saving an analysis replaces the one of the same attempt, analyzer and version.
    x.unique(['attempt_pk', 'analyzer', 'version']);
  });
  // MySQL/MariaDB index every foreign key's columns themselves (and would drop their own index for these).
  if (!mysql) {
    await knex.schema.alterTable(t.findings, (x) => x.index(['analysis_id']));
    await knex.schema.alterTable(t.feedback, (x) => x.index(['attempt_pk']));
  }
  await knex.schema.createTable(t.features, (x) => {
    x.integer('attempt_pk')
      .unsigned()
      .notNullable()
      .primary()
      .references('id')
      .inTable(t.attempts)
      .onDelete('CASCADE');
    exact(x, 'job_key', 255).notNullable();
    exact(x, 'version', 32).notNullable();
    x.bigInteger('start_time').notNullable();
    // A JSON array of numbers (LONGTEXT on MySQL, as every JSON column).
    x.text('vector', 'longtext').notNullable();
    x.index(['version', 'attempt_pk']);
  });
}

/**
 * Drop what {@link up} created: the features table, the indexes and the `severity` column. The exact
 * collations and the double confidence stay: they lose nothing, and keys that differ only in case could not
 * go back to a case-insensitive column.
 */
export async function down(knex: Knex, t: TableNames): Promise<void> {
  const mysql = dialectOf(knex) === 'mysql';
  await knex.schema.dropTableIfExists(t.features);
  if (!mysql) {
    await knex.schema.alterTable(t.feedback, (x) => x.dropIndex(['attempt_pk']));
    await knex.schema.alterTable(t.findings, (x) => x.dropIndex(['analysis_id']));
  }
  await knex.schema.alterTable(t.analyses, (x) => x.dropUnique(['attempt_pk', 'analyzer', 'version']));
  // SQLite (3.35+) drops the column in place; Knex would copy the table, which cascades to the findings.
  await knex.raw('alter table ?? drop column ??', [t.analyses, 'severity']);
}
