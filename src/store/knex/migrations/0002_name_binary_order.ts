/**
 * Schema version 2: application names compare and sort by code point on every dialect, so a name-prefix
 * filter is an index range. SQLite (`BINARY`) and MySQL/MariaDB (`utf8mb4_bin`, since version 1) already
 * do; PostgreSQL gets the `C` collation on `name` (its index is rebuilt; no data changes).
 * @module
 */
import type { Knex } from 'knex';
import type { TableNames } from '../tables.js';

const isPostgres = (knex: Knex): boolean => (knex.client as { dialect?: string }).dialect === 'postgresql';

/** Give `name` the `C` collation on PostgreSQL. */
export async function up(knex: Knex, t: TableNames): Promise<void> {
  if (!isPostgres(knex)) return;
  await knex.raw('alter table ?? alter column ?? type varchar(512) collate "C"', [t.attempts, 'name']);
  // The type change drops the column's statistics; without them the planner misjudges prefix ranges.
  await knex.raw('analyze ??', [t.attempts]);
}

/** Back to the database's default collation. */
export async function down(knex: Knex, t: TableNames): Promise<void> {
  if (!isPostgres(knex)) return;
  await knex.raw('alter table ?? alter column ?? type varchar(512) collate "default"', [t.attempts, 'name']);
}
