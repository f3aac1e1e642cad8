/**
 * Opening a store from a database URL (for the CLI and simple hosts), and wrapping a host's own Knex.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Knex } from 'knex';
import { ConfigError, StoreError } from '../../errors.js';
import type { IngestLedger } from '../ledger.js';
import type {
  AnalysisRepository,
  FeatureRepository,
  FeedbackRepository,
  RecommendationRepository,
} from '../tuning-repository.js';
import { KnexApplicationRepository } from './application-repository.js';
import { KnexIngestLedger } from './ledger.js';
import { type MigrateOptions, migrate } from './migrate.js';
import { KnexRunRepository } from './run-repository.js';
import {
  KnexAnalysisRepository,
  KnexFeatureRepository,
  KnexFeedbackRepository,
  KnexRecommendationRepository,
} from './tuning-repositories.js';

// Knex's pool prints connection errors itself; sparkpilot reports them as StoreErrors instead.
const quiet = { warn() {}, error() {}, deprecate() {}, debug() {} };

/** A URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

/**
 * Knex configuration for a database URL: `sqlite:./file.db`, `sqlite::memory:`, `postgres://…`,
 * `postgresql://…`, `mysql://…`, `mariadb://…`.
 */
export function knexConfigFromUrl(url: string): Knex.Config {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) {
      throw new ConfigError(
        'SPARKPILOT_CONFIG_INVALID',
        `Database URL "${url}" names no file. Use sqlite:./sparkpilot.db or sqlite::memory:.`,
      );
    }
    const memory = file === ':memory:';
    const filename = memory ? ':memory:' : resolve(file);
    if (!memory) {
      try {
        mkdirSync(dirname(filename), { recursive: true });
      } catch (cause) {
        throw new StoreError(
          'SPARKPILOT_STORE_CONNECT',
          `Cannot create the folder of the SQLite database ${filename} (${(cause as NodeJS.ErrnoException).code}). Choose a writable path for db.url.`,
          { cause },
        );
      }
    }
    return {
      client: 'sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      acquireConnectionTimeout: 30_000,
      log: quiet,
      pool: {
        // An in-memory database lives as long as its one connection. A file needs no idle connection, and
        // min 0 keeps the pool from retrying forever when the file cannot be opened.
        min: memory ? 1 : 0,
        max: 1,
        afterCreate: (
          conn: { run(sql: string, cb: (err?: Error) => void): void },
          done: (err?: Error) => void,
        ) => {
          conn.run('PRAGMA foreign_keys = ON', (err) => {
            if (err) return done(err);
            // WAL with synchronous=NORMAL: a commit never corrupts the file and costs no fsync of its own;
            // a power cut may lose the last commits whole, never half of one (SQLite's WAL documentation).
            conn.run('PRAGMA journal_mode = WAL', () =>
              conn.run('PRAGMA synchronous = NORMAL', () => conn.run('PRAGMA busy_timeout = 10000', done)),
            );
          });
        },
      },
    };
  }
  if (/^postgres(ql)?:\/\//.test(url))
    return { client: 'pg', connection: url, log: quiet, pool: { min: 0, max: 10 } };
  if (/^(mysql|mariadb):\/\//.test(url)) {
    return {
      client: 'mysql2',
      connection: url.replace(/^mariadb:/, 'mysql:'),
      log: quiet,
      pool: { min: 0, max: 10 },
    };
  }
  throw new ConfigError(
    'SPARKPILOT_CONFIG_INVALID',
    `Database URL "${redactUrl(url)}" is not one sparkpilot knows. Use sqlite:./sparkpilot.db, postgres://user:password@host:5432/db or mysql://user:password@host:3306/db.`,
  );
}

/** A store: sparkpilot's repositories over one Knex instance. */
export interface Store {
  readonly knex: Knex;
  /** The prefix of sparkpilot's tables in this database. */
  readonly tablePrefix: string;
  readonly applications: KnexApplicationRepository;
  /** What was ingested, for incremental ingest. */
  readonly ledger: IngestLedger;
  /** Analyses of stored attempts, with their findings. */
  readonly analyses: AnalysisRepository;
  /** Recommendations for recurring jobs. */
  readonly recommendations: RecommendationRepository;
  /** Feedback on recommendations. */
  readonly feedback: FeedbackRepository;
  /** Feature vectors of stored attempts (for finding similar runs). */
  readonly features: FeatureRepository;
  /** The orchestrator's runs, job attempts and pause flags. */
  readonly runs: KnexRunRepository;
  /**
   * Closes the connection pool when the store opened it from a URL ({@link openStore}); leaves a host's Knex
   * alone. Closing a pool lets the queries in flight finish, and fails a query started after `close()` at once
   * with `SPARKPILOT_STORE_CLOSED`. Stop what uses the store first (an orchestrator: `await orchestrator.stop()`).
   */
  close(): Promise<void>;
}

/** Options of {@link openStore} and {@link createKnexStore}. */
export interface StoreOptions extends MigrateOptions {
  /** Apply pending migrations first (default true). */
  migrate?: boolean;
}

/**
 * sparkpilot's repositories over the host's own Knex instance. sparkpilot keeps no connection of its own.
 *
 * @example
 * ```ts
 * const store = await createKnexStore(hostKnex, { tablePrefix: 'sp_' });
 * await store.applications.save(model);
 * ```
 */
export async function createKnexStore(knex: Knex, options: StoreOptions = {}): Promise<Store> {
  if (options.migrate !== false) {
    try {
      await migrate(knex, options);
    } catch (err) {
      throw new StoreError(
        'SPARKPILOT_STORE_MIGRATION',
        `Could not migrate the sparkpilot schema: ${(err as Error).message}. Check that the database user may create tables.`,
        { cause: err },
      );
    }
  }
  const repoOptions = options.tablePrefix !== undefined ? { tablePrefix: options.tablePrefix } : {};
  return {
    knex,
    tablePrefix: options.tablePrefix ?? 'sparkpilot_',
    applications: new KnexApplicationRepository(knex, repoOptions),
    ledger: new KnexIngestLedger(knex, repoOptions),
    analyses: new KnexAnalysisRepository(knex, repoOptions),
    recommendations: new KnexRecommendationRepository(knex, repoOptions),
    feedback: new KnexFeedbackRepository(knex, repoOptions),
    features: new KnexFeatureRepository(knex, repoOptions),
    runs: new KnexRunRepository(knex, repoOptions),
    close: async () => {},
  };
}

/** Open a store from a database URL (the CLI's way); `close()` it when done. */
export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const config = knexConfigFromUrl(url);
  // Loaded here, not when sparkpilot is imported: a host that only parses logs does not pay for Knex.
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory(config);
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy().catch(() => {});
    const code = (err as { code?: string }).code;
    throw new StoreError(
      'SPARKPILOT_STORE_CONNECT',
      `Cannot connect to ${redactUrl(url)}${code ? ` (${code})` : ''}: ${(err as Error).message}. Start the database or fix db.url (--db, SPARKPILOT_DB_URL).`,
      { cause: err },
    );
  }
  try {
    const store = await createKnexStore(knex, options);
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= closeKnex(knex, url);
      return closed;
    };
    return { ...store, close };
  } catch (err) {
    await knex.destroy().catch(() => {});
    throw err;
  }
}

/**
 * Destroy a Knex instance this module opened. Knex's pool (tarn) loses a connection request made while it is
 * being destroyed: the request waits out the whole acquire timeout (30 s on SQLite, 60 s otherwise) and fails
 * with "Timeout acquiring a connection". So every request from now on fails at once, naming the store.
 */
function closeKnex(knex: Knex, url: string): Promise<void> {
  const client = knex.client as { acquireConnection: () => Promise<unknown> };
  client.acquireConnection = async () => {
    throw new StoreError(
      'SPARKPILOT_STORE_CLOSED',
      `The store on ${redactUrl(url)} was closed, and a query came after close(). Close the store last: stop what uses it first (an orchestrator: await orchestrator.stop()).`,
    );
  };
  return knex.destroy();
}
