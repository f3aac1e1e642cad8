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
  /**
   * Parse on the calling thread too (default true). Turn it off when the calling thread has work of its
   * own beside parsing, as `onApplication` writing to a database: with several logs, every parser is
   * then a worker thread and the calling thread only consumes.
   */
  callingThread?: boolean;
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

/** Parsed models that may wait for the consumer (`onApplication`) before the parsers pause. */
const MAX_WAITING = 2;

/** One worker thread that parses the units it is sent, one at a time. */
class WorkerLane {
  private readonly worker: Worker;

  constructor(script: string, options: EventLogCollectorOptions) {
    // Workers inherit the host's flags, but refuse `--input-type` (a host started as `node -e` with ESM
    // input): leave it out, and when the rest holds flags a worker cannot take either, start with none.
    const flags = process.execArgv;
    const execArgv = flags.some((a) => a.startsWith('--input-type'))
      ? flags.filter((a) => !a.startsWith('--input-type'))
      : undefined;
    try {
      this.worker = new Worker(script, { workerData: { options }, ...(execArgv ? { execArgv } : {}) });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
      this.worker = new Worker(script, { workerData: { options }, execArgv: [] });
    }
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

      // The consumer (`onApplication`, a database write) runs beside the parsers, one call at a time in
      // the order models arrive: a lane waits only while `MAX_WAITING` models are already queued for it,
      // which bounds memory. Its first error stops every lane and is what `collect` throws.
      const queued: Promise<void>[] = [];
      let consumerFailed: { error: unknown } | undefined;
      const accept = async (unit: LogUnit, model: ApplicationAttemptModel) => {
        if (keepResults) applications.push(model);
        warnings.push(...model.warnings);
        if (!onApplication) return;
        const previous = queued[queued.length - 1];
        const call: Promise<void> = (async () => {
          await previous;
          try {
            if (!consumerFailed) await onApplication(model, { name: unit.name });
          } catch (error) {
            consumerFailed ??= { error };
            stop = true;
          } finally {
            queued.shift(); // calls end in order, so the one ending is the first
          }
        })();
        queued.push(call);
        if (queued.length > MAX_WAITING) await queued[queued.length - 1 - MAX_WAITING];
        if (consumerFailed) throw consumerFailed.error;
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

      // Parsers: the calling thread plus (parsers - 1) worker threads, all taking units from one queue; or
      // `parsers` worker threads when the calling thread is kept free.
      const parsers =
        options.workers === 1 ? 1 : Math.min(options.workers || availableParallelism(), units.length);
      const offThread = collectOptions.callingThread === false && units.length > 1;
      const script = parsers > 1 || offThread ? workerScript() : undefined;
      const workerLanes = script ? (offThread ? parsers : parsers - 1) : 0;
      let next = 0;
      let stop = false;
      // Largest logs first: no lane is left parsing one big log alone at the end while the others idle.
      const order = units
        .map((u, i) => ({ i, size: u.parts.reduce((a, p) => a + p.size, 0) }))
        .sort((a, b) => b.size - a.size || a.i - b.i)
        .map((x) => x.i);
      const take = () => (!stop && next < order.length ? order[next++]! : -1);

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
        const send = (i: number) => {
          if (i < 0) return undefined;
          const reply = lane.parse(i, serializeUnit(units[i]!), signal);
          reply.catch(() => {}); // awaited below; a worker dying meanwhile is no unhandled rejection
          return reply;
        };
        try {
          let i = take();
          let inFlight = send(i);
          while (inFlight) {
            let reply: WorkerReply;
            try {
              reply = await inFlight;
            } catch {
              if (signal?.aborted) throw signal.reason;
              // A worker that died parses nothing more: its unit, and its share of the rest, are parsed here.
              await parseHere(i);
              await inProcessLane();
              return;
            }
            const unit = units[i]!;
            // The worker starts on its next log before this one is handed on (and perhaps waits for
            // the consumer), so it never idles between logs.
            i = take();
            inFlight = send(i);
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
      const lanes = Array.from({ length: workerLanes }, () => new WorkerLane(script!, options));
      // One lane failing (a consumer's error, an abort) stops the others taking more work.
      const guard = (p: Promise<void>) =>
        p.catch((err: unknown) => {
          stop = true;
          throw err;
        });
      try {
        const here = lanes.length < parsers || lanes.length === 0 ? [guard(inProcessLane())] : [];
        await Promise.all([...here, ...lanes.map((l) => guard(workerLane(l)))]);
      } finally {
        // Never leave a consumer call running behind the caller's back, even when a lane failed.
        await Promise.all(queued);
      }
      if (consumerFailed) throw consumerFailed.error;
      throwIfAborted(signal);
      applications.sort(compareModels);
      return { applications, warnings, failures };
    },
  }),
);
