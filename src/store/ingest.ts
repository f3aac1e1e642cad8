/**
 * Ingest: read event logs (on worker threads) and store each application attempt, skipping logs whose
 * files have not changed since they were stored.
 * @module
 */
import { promises as fs } from 'node:fs';
import type { CollectProgress } from '../collect/collector.js';
import { eventLogCollector, type LogUnitInfo } from '../collect/event-log/collector.js';
import { type SparkpilotError, throwIfAborted } from '../errors.js';
import type { ApplicationAttemptModel, CollectionWarning } from '../model/attempt.js';
import type { PreparedAttempt } from './knex/rows.js';
import type { IngestLedger, LedgerEntry } from './ledger.js';
import type { ApplicationRepository, SaveOutcome, SaveResult } from './repository.js';

/** Options of {@link ingestEventLogs}. */
export interface IngestOptions {
  /** Parallel parsers (see the event-log collector's `workers`). */
  workers?: number;
  /** Read every log even when its files did not change. */
  force?: boolean;
  /** Tags stored with every attempt. */
  tags?: string[];
  signal?: AbortSignal;
  onProgress?: (progress: CollectProgress & { stored: number; skipped: number }) => void;
}

/** One log that could not be ingested, and why. */
export interface IngestFailure {
  source: string;
  code: string;
  message: string;
}

/** What an ingest did. */
export interface IngestReport {
  /** Attempts stored for the first time. */
  new: number;
  /** Attempts stored again with new content (an in-progress log that grew). */
  updated: number;
  /** Attempts read again whose content had not changed. */
  unchanged: number;
  /** Logs not read at all, because their files had not changed since they were stored. */
  skipped: number;
  failed: IngestFailure[];
  warnings: CollectionWarning[];
  /** Decompressed bytes read. */
  bytes: number;
}

async function signatureOf(unit: LogUnitInfo): Promise<string | undefined> {
  try {
    const parts: string[] = [];
    for (const p of unit.parts) {
      const st = await fs.stat(p.file);
      parts.push(`${p.name}:${st.size}:${Math.trunc(st.mtimeMs)}`);
    }
    return parts.join('|');
  } catch {
    return undefined;
  }
}

/** A parsed attempt waiting to be stored. */
interface Pending {
  model?: ApplicationAttemptModel;
  rows?: PreparedAttempt;
  source: string;
}

/** A repository that stores rows prepared by `prepareAttempt` (the Knex one). */
interface PreparedRepository {
  savePrepared(prepared: readonly PreparedAttempt[], signal?: AbortSignal): Promise<SaveResult[]>;
}

function hasSavePrepared(repo: ApplicationRepository): repo is ApplicationRepository & PreparedRepository {
  return typeof (repo as Partial<PreparedRepository>).savePrepared === 'function';
}

/** Models parsed but not yet stored, at most: bounds memory while the writer is behind. */
const MAX_PENDING = 8;

/**
 * Stores models in batches, beside the parsers: models that arrive while a batch is being written are
 * written together next (a few statements for all of them, one transaction). `add` waits only while
 * {@link MAX_PENDING} models are already waiting; the first write error stops everything and is thrown by
 * the next `add` and by `close`.
 */
class BatchWriter<T> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private readonly room: (() => void)[] = [];

  constructor(private readonly writeBatch: (batch: T[]) => Promise<void>) {}

  async add(item: T): Promise<void> {
    this.throwIfFailed();
    this.pending.push(item);
    this.running ??= this.run();
    while (this.pending.length >= MAX_PENDING && !this.failure) {
      await new Promise<void>((resolve) => this.room.push(resolve));
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length && !this.failure) {
        const batch = this.pending;
        this.pending = [];
        for (const wake of this.room.splice(0)) wake();
        await this.writeBatch(batch);
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.running = undefined;
      for (const wake of this.room.splice(0)) wake();
    }
  }

  /** Waits for everything added to be written; throws the first write error. */
  async close(): Promise<void> {
    while (this.running) await this.running;
    this.throwIfFailed();
  }
}

/**
 * Read the event logs under `paths` and store every application attempt.
 *
 * @example
 * ```ts
 * const store = await openStore('sqlite:./sparkpilot.db');
 * const report = await ingestEventLogs(store, ['/var/log/spark-events']);
 * console.log(report.new, report.updated, report.skipped, report.failed);
 * await store.close();
 * ```
 */
export async function ingestEventLogs(
  store: { applications: ApplicationRepository; ledger: IngestLedger },
  paths: readonly string[],
  options: IngestOptions = {},
): Promise<IngestReport> {
  const { signal } = options;
  throwIfAborted(signal);
  const report: IngestReport = {
    new: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: [],
    warnings: [],
    bytes: 0,
  };
  const signatures = new Map<string, string>();
  const collector = eventLogCollector(options.workers !== undefined ? { workers: options.workers } : {});
  const counts: Record<SaveOutcome, number> = { new: 0, updated: 0, unchanged: 0 };
  // A Knex store takes rows made on the worker threads; any other repository takes models.
  const rowsRepo = hasSavePrepared(store.applications) ? store.applications : undefined;
  const saveOptions = { ...(options.tags ? { tags: options.tags } : {}), ...(signal ? { signal } : {}) };
  const writer = new BatchWriter<Pending>(async (batch) => {
    const saved = rowsRepo
      ? await rowsRepo.savePrepared(
          batch.map((b) => b.rows!),
          signal,
        )
      : await store.applications.saveMany(
          batch.map((b) => b.model!),
          saveOptions,
        );
    const entries: LedgerEntry[] = [];
    for (const [i, s] of saved.entries()) {
      counts[s.outcome]++;
      const signature = signatures.get(batch[i]!.source);
      if (signature !== undefined) {
        entries.push({
          path: batch[i]!.source,
          signature,
          appId: s.appId,
          attemptId: s.attemptId,
          ingestedAt: Date.now(),
        });
      }
    }
    // The ledger is written after the attempts: a crash in between only reads those logs again.
    if (entries.length) await store.ledger.putMany(entries);
  });
  let result: Awaited<ReturnType<typeof collector.collect>>;
  try {
    result = await collector.collect(paths, {
      ...(signal ? { signal } : {}),
      keepResults: false,
      // The calling thread parses too, between its writes: one worker fewer to start and warm up, which
      // measured faster than leaving the calling thread only to store (see CHANGELOG).
      select: async (unit) => {
        const signature = await signatureOf(unit);
        if (signature === undefined) return true;
        signatures.set(unit.name, signature);
        if (options.force) return true;
        const seen = await store.ledger.get(unit.name);
        if (seen && seen.signature === signature) {
          report.skipped++;
          return false;
        }
        return true;
      },
      ...(rowsRepo
        ? {
            storeRows: {
              ...(options.tags ? { tags: options.tags } : {}),
              onRows: (rows: PreparedAttempt, source: { name: string }) =>
                writer.add({ rows, source: source.name }),
            },
          }
        : {
            onApplication: (model: ApplicationAttemptModel, source: { name: string }) =>
              writer.add({ model, source: source.name }),
          }),
      onProgress: (p) => {
        report.bytes = p.bytes;
        options.onProgress?.({
          ...p,
          stored: counts.new + counts.updated + counts.unchanged,
          skipped: report.skipped,
        });
      },
    });
  } finally {
    // Never leave a write running behind the caller's back; its error is the ingest's error.
    await writer.close();
  }
  report.new = counts.new;
  report.updated = counts.updated;
  report.unchanged = counts.unchanged;
  report.warnings = result.warnings;
  report.failed = result.failures.map((f) => ({
    source: f.source,
    code: (f.error as SparkpilotError).code,
    message: f.error.message,
  }));
  return report;
}
