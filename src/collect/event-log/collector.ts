/**
 * The built-in event-log collector: reads every event log layout and codec Spark writes, on worker
 * threads when there are several logs, into one {@link ApplicationAttemptModel} per application attempt.
 * @module
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { EventLogError, SparkpilotError, throwIfAborted } from '../../errors.js';
import type { ApplicationAttemptModel, CollectionWarning } from '../../model/attempt.js';
import { defineFactory } from '../../registry.js';
import type { CollectFailure, CollectOptions, Collector, CollectResult } from '../collector.js';
import { discoverLogs, type LogUnit } from './discover.js';
import { parseLogUnit } from './parse.js';
import { type SerializedUnit, serializeUnit, type WorkerReply } from './protocol.js';

/** Options of the event-log collector. */
export const eventLogCollectorOptionsSchema = z
  .object({
    /**
     * Parallel parsers for many logs: the calling thread plus `workers - 1` worker threads. 0 picks one per
     * core (at most the number of logs); 1 parses in the calling thread only.
     */
    workers: z.number().int().min(0).max(256).default(0),
    /** A line longer than this many bytes (decompressed) is skipped with a warning. */
    maxLineBytes: z
      .number()
      .int()
      .min(1024)
      .default(512 * 1024 * 1024),
    /** Successful tasks per stage kept exactly for quantiles before a bounded sketch takes over. */
    exactQuantileValues: z.number().int().min(16).max(1_000_000).default(2048),
  })
  .strict();

/** Parsed options of the event-log collector. */
export type EventLogCollectorOptions = z.output<typeof eventLogCollectorOptionsSchema>;

/** What the event-log collector reads: one path or several (files, folders, zips). */
export type EventLogSource = string | readonly string[];

/** One application attempt's log as found on disk, before it is read. */
export interface LogUnitInfo {
  /** The file, folder or zip entry. */
  name: string;
  /** Its files (a rolling log has several), with sizes; `file` is the path on disk (the zip for an entry). */
  parts: { name: string; file: string; size: number }[];
  inProgress: boolean;
}

/** Options of the event-log collector's `collect`. */
export interface EventLogCollectOptions extends CollectOptions {
  /** Decides, before reading, whether to read a log (an incremental ingest skips unchanged ones). */
  select?: (unit: LogUnitInfo) => boolean | Promise<boolean>;
}

function workerScript(): string | undefined {
  let here: string;
  try {
    here = dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
  for (const candidate of [join(here, 'collect/event-log/worker.js'), join(here, 'worker.js')]) {
    if (existsSync(candidate) && candidate.endsWith('.js')) return candidate;
  }
  return undefined;
}

function compareModels(a: ApplicationAttemptModel, b: ApplicationAttemptModel): number {
  if (a.appId !== b.appId) return a.appId < b.appId ? -1 : 1;
  const x = a.attemptId ?? '';
  const y = b.attemptId ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

function reviveError(reply: Extract<WorkerReply, { ok: false }>): SparkpilotError {
  const e = reply.error;
  const err = new EventLogError(
    e.code,
    { file: e.file, ...(e.line !== undefined ? { line: e.line } : {}) },
    e.detail,
  );
  err.message = e.message;
  return err;
}

/** One worker thread that parses the units it is sent, one at a time. */
class WorkerLane {
  private readonly worker: Worker;

  constructor(script: string, options: EventLogCollectorOptions) {
    this.worker = new Worker(script, { workerData: { options } });
  }

  parse(index: number, unit: SerializedUnit, signal?: AbortSignal): Promise<WorkerReply> {
    const worker = this.worker;
    return new Promise<WorkerReply>((resolve, reject) => {
      const onMessage = (msg: WorkerReply) => {
        cleanup();
        resolve(msg);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`worker thread exited with code ${code}`));
      };
      const onAbort = () => {
        cleanup();
        void worker.terminate();
        reject(signal?.reason);
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.postMessage({ index, unit });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Create an event-log collector.
 *
 * @example
 * ```ts
 * import { eventLogCollector } from 'sparkpilot';
 *
 * const collector = eventLogCollector({ workers: 2 });
 * const { applications, warnings, failures } = await collector.collect(['/var/log/spark-events']);
 * for (const app of applications) console.log(app.appId, app.application.attempts[0].duration);
 * ```
 */
export const eventLogCollector = defineFactory(
  'event-log',
  eventLogCollectorOptionsSchema,
  (options): Collector<EventLogSource, EventLogCollectOptions> => ({
    name: 'event-log',
    capabilities: { progress: true, abort: true },
    async collect(
      source: EventLogSource,
      collectOptions: EventLogCollectOptions = {},
    ): Promise<CollectResult> {
      const { signal, onProgress, onApplication, select, keepResults = true } = collectOptions;
      throwIfAborted(signal);
      const paths = typeof source === 'string' ? [source] : [...source];
      const found = await discoverLogs(paths, signal ? { signal } : {});
      const problems = found.problems;
      let units = found.units;
      if (select) {
        const chosen: LogUnit[] = [];
        for (const u of units) {
          const info: LogUnitInfo = {
            name: u.name,
            inProgress: u.inProgress,
            parts: u.parts.map((p) => ({ name: p.name, file: p.location.file, size: p.size })),
          };
          if (await select(info)) chosen.push(u);
        }
        units = chosen;
      }
      const failures: CollectFailure[] = problems.map((p) => ({
        source: p.path,
        explicit: paths.includes(p.path),
        error: p.error,
      }));
      const warnings: CollectionWarning[] = [];
      const applications: ApplicationAttemptModel[] = [];
      let done = 0;
      let bytes = 0;
      const total = units.length;
      onProgress?.({ done, total, bytes });

      const accept = async (unit: LogUnit, model: ApplicationAttemptModel) => {
        if (keepResults) applications.push(model);
        warnings.push(...model.warnings);
        await onApplication?.(model, { name: unit.name });
      };
      const reject = (unit: LogUnit, error: SparkpilotError) => {
        if (!unit.explicit && error.code === 'SPARKPILOT_EVENTLOG_NOT_SPARK') {
          // A stray non-log file inside a log folder is skipped, not a failure.
          warnings.push({
            source: unit.name,
            code: 'skipped-file',
            message: `skipped: ${error.message.replace(/^\[sparkpilot\] \[event-log\] [^:]+: /, '')}`,
          });
          return;
        }
        failures.push({ source: unit.name, explicit: unit.explicit, error });
      };

      // Parsers: the calling thread plus (parsers - 1) worker threads, all taking units from one queue.
      const parsers =
        options.workers === 1 ? 1 : Math.min(options.workers || availableParallelism(), units.length);
      const script = parsers > 1 ? workerScript() : undefined;
      let next = 0;
      let stop = false;
      const take = () => (!stop && next < units.length ? next++ : -1);

      const parseHere = async (index: number) => {
        const unit = units[index]!;
        throwIfAborted(signal);
        const base = bytes;
        let model: ApplicationAttemptModel | undefined;
        try {
          model = await parseLogUnit(unit, {
            ...(signal ? { signal } : {}),
            maxLineBytes: options.maxLineBytes,
            exactQuantileValues: options.exactQuantileValues,
            onBytes: (b) => onProgress?.({ done, total, bytes: base + b, current: unit.name }),
          });
          bytes += model.stats.bytes;
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          if (err instanceof SparkpilotError) reject(unit, err);
          else
            reject(
              unit,
              new EventLogError(
                'SPARKPILOT_EVENTLOG_UNREADABLE',
                { file: unit.name },
                `could not be parsed: ${(err as Error).message}. Please report this with the file.`,
                { cause: err },
              ),
            );
        }
        // Outside the try: an error of the consumer (a database write) is the consumer's, not the log's.
        if (model) await accept(unit, model);
        done++;
        onProgress?.({ done, total, bytes, current: unit.name });
      };

      const inProcessLane = async () => {
        for (let i = take(); i >= 0; i = take()) await parseHere(i);
      };
      const workerLane = async (lane: WorkerLane) => {
        try {
          for (let i = take(); i >= 0; i = take()) {
            let reply: WorkerReply;
            try {
              reply = await lane.parse(i, serializeUnit(units[i]!), signal);
            } catch {
              if (signal?.aborted) throw signal.reason;
              // A worker that died parses nothing more; its unit is parsed here instead.
              await parseHere(i);
              return;
            }
            const unit = units[i]!;
            done++;
            if (reply.ok) {
              bytes += reply.model.stats.bytes;
              await accept(unit, reply.model);
            } else reject(unit, reviveError(reply));
            onProgress?.({ done, total, bytes, current: unit.name });
          }
        } finally {
          await lane.close();
        }
      };
      const lanes = script ? Array.from({ length: parsers - 1 }, () => new WorkerLane(script, options)) : [];
      // One lane failing (a consumer's error, an abort) stops the others taking more work.
      const guard = (p: Promise<void>) =>
        p.catch((err: unknown) => {
          stop = true;
          throw err;
        });
      await Promise.all([guard(inProcessLane()), ...lanes.map((l) => guard(workerLane(l)))]);
      throwIfAborted(signal);
      applications.sort(compareModels);
      return { applications, warnings, failures };
    },
  }),
);
