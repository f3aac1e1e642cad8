/**
 * Versioned migrations shipped in the package, run through the host's Knex with sparkpilot's own
 * migrations table (`<prefix>migrations`), so they never mix with the host's.
 * @module
 */
import type { Knex } from 'knex';
import { StoreError } from '../../errors.js';
import * as initial from './migrations/0001_initial.js';
import * as nameBinaryOrder from './migrations/0002_name_binary_order.js';
import * as tuning from './migrations/0003_tuning.js';
import * as orchestrator from './migrations/0004_orchestrator.js';
import { type TableNames, tableNames } from './tables.js';

interface Migration {
  name: string;
  up(knex: Knex, t: TableNames): Promise<void>;
  down(knex: Knex, t: TableNames): Promise<void>;
}

/** Every migration, oldest first. Never edit a released one: add the next. */
const MIGRATIONS: readonly Migration[] = [
  { name: '0001_initial', up: initial.up, down: initial.down },
  { name: '0002_name_binary_order', up: nameBinaryOrder.up, down: nameBinaryOrder.down },
  { name: '0003_tuning', up: tuning.up, down: tuning.down },
  { name: '0004_orchestrator', up: orchestrator.up, down: orchestrator.down },
];

/** Options of the migration functions. */
export interface MigrateOptions {
  /** Prefix of every table (default `sparkpilot_`). */
  tablePrefix?: string;
}

function config(options: MigrateOptions): Knex.MigratorConfig {
  const t = tableNames(options.tablePrefix ?? 'sparkpilot_');
  return {
    tableName: t.migrations,
    migrationSource: {
      getMigrations: async () => [...MIGRATIONS],
      getMigrationName: (m: Migration) => m.name,
      getMigration: async (m: Migration) => ({
        up: (k: Knex) => m.up(k, t),
        down: (k: Knex) => m.down(k, t),
      }),
    },
  };
}

/** Where the schema stands. */
export interface MigrationStatus {
  /** Names of applied migrations, oldest first. */
  applied: string[];
  /** Names of migrations not applied yet. */
  pending: string[];
  /** The newest applied migration, or `null` on an empty database. */
  current: string | null;
}

/**
 * Apply every pending migration. Safe to call on every start: it does nothing when the schema is current.
 *
 * @example
 * ```ts
 * import knex from 'knex';
 * const db = knex({ client: 'pg', connection: process.env.DATABASE_URL });
 * await migrate(db, { tablePrefix: 'sparkpilot_' });
 * ```
 */
export async function migrate(
  knex: Knex,
  options: MigrateOptions & {
    /** Stop after this migration (default: the newest). Upgrade tests use it to build an older schema. */
    to?: string;
  } = {},
): Promise<{ applied: string[] }> {
  if (options.to === undefined) {
    const [, log] = (await knex.migrate.latest(config(options))) as [number, string[]];
    return { applied: log };
  }
  const target = MIGRATIONS.findIndex((m) => m.name === options.to);
  if (target < 0) {
    throw new StoreError(
      'SPARKPILOT_STORE_MIGRATION',
      `No migration is named ${JSON.stringify(options.to)}. Known: ${MIGRATIONS.map((m) => m.name).join(', ')}.`,
    );
  }
  const applied: string[] = [];
  for (;;) {
    const { applied: done } = await migrationStatus(knex, options);
    if (done.length > target) return { applied };
    const [, log] = (await knex.migrate.up(config(options))) as [number, string[]];
    applied.push(...log);
  }
}

/** Which migrations are applied and which are pending. */
export async function migrationStatus(knex: Knex, options: MigrateOptions = {}): Promise<MigrationStatus> {
  const [done, pending] = (await knex.migrate.list(config(options))) as [
    { name: string }[] | string[],
    (Migration | { file: string })[],
  ];
  const applied = done.map((d) => (typeof d === 'string' ? d : d.name));
  return {
    applied,
    pending: pending.map((p) => ('name' in p ? p.name : p.file)),
    current: applied[applied.length - 1] ?? null,
  };
}

/** Undo the last batch of migrations (or all of them with `{ all: true }`). */
export async function rollback(
  knex: Knex,
  options: MigrateOptions & { all?: boolean } = {},
): Promise<{ rolledBack: string[] }> {
  const [, log] = (await knex.migrate.rollback(config(options), options.all ?? false)) as [number, string[]];
  return { rolledBack: log };
}
