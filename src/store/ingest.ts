/**
 * Ingest: read event logs (on worker threads) and store each application attempt, skipping logs whose
 * files have not changed since they were stored.
 * @module
 */
import { promises as fs } from 'node:fs';
import type { CollectProgress } from '../collect/collector.js';
import { eventLogCollector, type LogUnitInfo } from '../collect/event-log/collector.js';
import { type SparkpilotError, throwIfAborted } from '../errors.js';
import type { CollectionWarning } from '../model/attempt.js';
import type { IngestLedger } from './ledger.js';
import type { ApplicationRepository, SaveOutcome } from './repository.js';

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
  const result = await collector.collect(paths, {
    ...(signal ? { signal } : {}),
    keepResults: false,
    // The calling thread stores; worker threads parse.
    callingThread: false,
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
    onApplication: async (model, source) => {
      const saved = await store.applications.save(model, {
        ...(options.tags ? { tags: options.tags } : {}),
        ...(signal ? { signal } : {}),
      });
      counts[saved.outcome]++;
      const signature = signatures.get(source.name);
      if (signature !== undefined) {
        await store.ledger.put({
          path: source.name,
          signature,
          appId: saved.appId,
          attemptId: saved.attemptId,
          ingestedAt: Date.now(),
        });
      }
    },
    onProgress: (p) => {
      report.bytes = p.bytes;
      options.onProgress?.({
        ...p,
        stored: counts.new + counts.updated + counts.unchanged,
        skipped: report.skipped,
      });
    },
  });
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
