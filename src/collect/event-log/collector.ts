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
    /** Worker threads for many logs: 0 picks one per core (at most the number of logs), 1 parses in-process. */
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

/** Runs serialized units on a small pool of worker threads. */
async function runOnWorkers(
  script: string,
  units: SerializedUnit[],
  threads: number,
  options: EventLogCollectorOptions,
  onResult: (index: number, reply: WorkerReply) => void,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const workers: Worker[] = [];
  const abort = () => {
    for (const w of workers) void w.terminate();
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await Promise.all(
      Array.from({ length: threads }, async () => {
        const worker = new Worker(script, { workerData: { options } });
        workers.push(worker);
        try {
          while (next < units.length) {
            throwIfAborted(signal);
            const index = next++;
            const reply = await new Promise<WorkerReply>((resolve, reject) => {
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
                reject(signal?.reason ?? new Error(`worker thread exited with code ${code}`));
              };
              const cleanup = () => {
                worker.off('message', onMessage);
                worker.off('error', onError);
                worker.off('exit', onExit);
              };
              worker.on('message', onMessage);
              worker.on('error', onError);
              worker.on('exit', onExit);
              worker.postMessage({ index, unit: units[index] });
            });
            onResult(index, reply);
          }
        } finally {
          await worker.terminate();
        }
      }),
    );
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  throwIfAborted(signal);
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
  (options): Collector<EventLogSource> => ({
    name: 'event-log',
    capabilities: { progress: true, abort: true },
    async collect(source: EventLogSource, collectOptions: CollectOptions = {}): Promise<CollectResult> {
      const { signal, onProgress, onApplication } = collectOptions;
      throwIfAborted(signal);
      const paths = typeof source === 'string' ? [source] : [...source];
      const { units, problems } = await discoverLogs(paths, signal ? { signal } : {});
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

      const accept = (_unit: LogUnit, model: ApplicationAttemptModel) => {
        applications.push(model);
        warnings.push(...model.warnings);
        onApplication?.(model);
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

      const threads =
        options.workers === 1 ? 1 : Math.min(options.workers || availableParallelism(), units.length);
      const script = threads > 1 ? workerScript() : undefined;
      if (script) {
        const serialized = units.map(serializeUnit);
        await runOnWorkers(
          script,
          serialized,
          threads,
          options,
          (index, reply) => {
            const unit = units[index]!;
            done++;
            if (reply.ok) {
              bytes += reply.model.stats.bytes;
              accept(unit, reply.model);
            } else reject(unit, reviveError(reply));
            onProgress?.({ done, total, bytes, current: unit.name });
          },
          signal,
        );
      } else {
        for (const unit of units) {
          throwIfAborted(signal);
          const base = bytes;
          try {
            const model = await parseLogUnit(unit, {
              ...(signal ? { signal } : {}),
              maxLineBytes: options.maxLineBytes,
              exactQuantileValues: options.exactQuantileValues,
              onBytes: (b) => onProgress?.({ done, total, bytes: base + b, current: unit.name }),
            });
            bytes += model.stats.bytes;
            accept(unit, model);
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
          done++;
          onProgress?.({ done, total, bytes, current: unit.name });
        }
      }
      applications.sort(compareModels);
      return { applications, warnings, failures };
    },
  }),
);
