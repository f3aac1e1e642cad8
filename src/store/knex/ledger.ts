/**
 * The ingest ledger in a Knex database.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { IngestLedger, LedgerEntry } from '../ledger.js';
import { tableNames } from './tables.js';

const hashPath = (path: string) => createHash('sha256').update(path).digest('hex');

/** The default {@link IngestLedger}, in `<prefix>ingested_files`. */
export class KnexIngestLedger implements IngestLedger {
  private readonly table: string;

  constructor(
    private readonly knex: Knex,
    options: { tablePrefix?: string } = {},
  ) {
    this.table = tableNames(options.tablePrefix ?? 'sparkpilot_').ingestedFiles;
  }

  async get(path: string): Promise<LedgerEntry | undefined> {
    const row = (await this.knex(this.table)
      .where({ path_hash: hashPath(path) })
      .first()) as Record<string, unknown> | undefined;
    if (!row) return undefined;
    return {
      path: String(row.path),
      signature: String(row.signature),
      appId: String(row.app_id ?? ''),
      attemptId: String(row.attempt_id ?? ''),
      ingestedAt: Number(row.ingested_at),
    };
  }

  async put(entry: LedgerEntry): Promise<void> {
    await this.putMany([entry]);
  }

  async putMany(entries: readonly LedgerEntry[]): Promise<void> {
    // One row per path: a path listed twice keeps its last entry.
    const all = [
      ...new Map(entries.map((entry) => rowOf(entry)).map((row) => [row.path_hash, row])).values(),
    ];
    for (let i = 0; i < all.length; i += 100) {
      await this.knex(this.table)
        .insert(all.slice(i, i + 100))
        .onConflict('path_hash')
        .merge();
    }
  }
}

/** The ledger row of an entry. */
function rowOf(entry: LedgerEntry) {
  return {
    path_hash: hashPath(entry.path),
    path: entry.path,
    size: 0,
    mtime_ms: 0,
    signature: entry.signature,
    app_id: entry.appId,
    attempt_id: entry.attemptId,
    outcome: 'stored',
    error: null,
    ingested_at: entry.ingestedAt,
  };
}
