/**
 * The ingest ledger: which log (file, rolling folder, zip entry) was stored, and the size and modification
 * time of its files then, so that ingesting a growing folder again reads only what is new or changed.
 * @module
 */

/** What the ledger remembers of one log. */
export interface LedgerEntry {
  /** The file or folder of the log. */
  path: string;
  /** Sizes and modification times of its files when it was stored. */
  signature: string;
  appId: string;
  attemptId: string;
  ingestedAt: number;
}

/** Remembers what was ingested. */
export interface IngestLedger {
  get(path: string): Promise<LedgerEntry | undefined>;
  put(entry: LedgerEntry): Promise<void>;
  /** Remember several logs at once (an ingest does, after each batch it stores). */
  putMany(entries: readonly LedgerEntry[]): Promise<void>;
}
