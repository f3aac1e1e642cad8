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
import PQueue from 'p-queue';
import { z } from 'zod';
import { EventLogError, SparkpilotError, throwIfAborted } from '../../errors.js';
import type { ApplicationAttemptModel, CollectionWarning } from '../../model/attempt.js';
import { defineFactory } from '../../registry.js';
import type { PreparedAttempt } from '../../store/knex/rows.js';
import type { CollectFailure, CollectOptions, Collector, CollectResult } from '../collector.js';
import { discoverLogs, type LogUnit } from './discover.js';
import { parseLogUnit } from './parse.js';
import { type Parsed, parsedOf, type SerializedUnit, serializeUnit, type WorkerReply } from './protocol.js';

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
  /**
   * Decides, before reading, whether to read a log (an incremental ingest skips unchanged ones). It may be
   * called for several logs at once.
   */
  select?: (unit: LogUnitInfo) => boolean | Promise<boolean>;
  /**
   * Parse on the calling thread too (default true). Turn it off when the calling thread must stay
   * responsive while logs are parsed (a server's event loop): with several logs, every parser is then a
   * worker thread and the calling thread only consumes. For throughput alone keep it on: `ingestEventLogs`,
   * which writes to a database on the calling thread, measured faster with it on (one worker thread fewer
   * to start and warm up).
   */
  callingThread?: boolean;
  /**
   * For {@link ingestEventLogs}: each model is turned into the rows a Knex store writes on the thread that
   * parsed it, and `onRows` receives them in place of `onApplication` receiving the model (only strings
   * then cross between threads). Models are then not kept in the result.
   * @internal
   */
  storeRows?: {
    tags?: string[];
    onRows: (rows: PreparedAttempt, source: { name: string }) => void | Promise<void>;
  };
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

/** Units whose `select` runs at once. */
const SELECT_CONCURRENCY = 16;

/** Parsed models that may wait for the consumer (`onApplication`) before the parsers pause. */
const MAX_WAITING = 2;

/**
 * Units sent ahead to each worker thread: it finds its next log already queued when it finishes one,
 * instead of waiting for the calling thread (perhaps busy with the consumer) to send it.
 */
const WORKER_DEPTH = 2;

/** One worker thread that parses the units it is sent, one at a time, in the order sent. */
class WorkerLane {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: unknown) => void }
  >();
  private failure: unknown;

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
    this.worker.on('message', (msg: WorkerReply) => {
      const p = this.pending.get(msg.index);
      this.pending.delete(msg.index);
      p?.resolve(msg);
    });
    this.worker.on('error', (err: Error) => this.fail(err));
    this.worker.on('exit', (code: number) => this.fail(new Error(`worker thread exited with code ${code}`)));
  }

  /** Every unit still pending fails (the worker died, or the caller aborted). */
  private fail(err: unknown): void {
    this.failure ??= err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  parse(
    index: number,
    unit: SerializedUnit,
    rows: { tags: string[] } | undefined,
    signal?: AbortSignal,
  ): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      if (this.failure !== undefined) {
        reject(this.failure);
        return;
      }
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        void this.worker.terminate();
        this.fail(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(index, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      this.worker.postMessage({ index, unit, ...(rows ? { rows } : {}) });
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
        // Several at a time (a select that looks at the disk or a database waits on each): the order of
        // the units is kept.
        const queue = new PQueue({ concurrency: SELECT_CONCURRENCY });
        const keep = await Promise.all(
          units.map((u) =>
            queue.add(() =>
              select({
                name: u.name,
                inProgress: u.inProgress,
                parts: u.parts.map((p) => ({ name: p.name, file: p.location.file, size: p.size })),
              }),
            ),
          ),
        );
        throwIfAborted(signal);
        units = units.filter((_, i) => keep[i]);
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
      const storeRows = collectOptions.storeRows;
      /** What parsers are asked for: rows for a store, or (undefined) the model. */
      const rowsRequest = storeRows ? { tags: storeRows.tags ?? [] } : undefined;
      const accept = async (unit: LogUnit, got: Parsed) => {
        if (keepResults && got.model) applications.push(got.model);
        warnings.push(...got.warnings);
        const source = { name: unit.name };
        const { model, rows } = got;
        const consume = rows
          ? () => storeRows?.onRows(rows, source)
          : model && onApplication
            ? () => onApplication(model, source)
            : undefined;
        if (!consume) return;
        const previous = queued[queued.length - 1];
        const call: Promise<void> = (async () => {
          await previous;
          try {
            if (!consumerFailed) await consume();
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
        if (model) await accept(unit, parsedOf(model, rowsRequest));
        done++;
        onProgress?.({ done, total, bytes, current: unit.name });
      };

      const inProcessLane = async () => {
        for (let i = take(); i >= 0; i = take()) await parseHere(i);
      };
      const workerLane = async (lane: WorkerLane) => {
        const send = (i: number) => {
          const reply = lane.parse(i, serializeUnit(units[i]!), rowsRequest, signal);
          reply.catch(() => {}); // awaited below; a worker dying meanwhile is no unhandled rejection
          return { i, reply };
        };
        // The worker always has its next log queued (it starts on it before this one is handed on, and
        // perhaps waits for the consumer), so it never idles between logs.
        const inFlight: { i: number; reply: Promise<WorkerReply> }[] = [];
        const topUp = () => {
          while (inFlight.length < WORKER_DEPTH) {
            // Near the end a log queued here could wait behind this worker's current one while another
            // lane runs out of work: queue ahead only while every lane has more than one log left to take.
            if (inFlight.length > 0 && order.length - next <= laneCount) return;
            const i = take();
            if (i < 0) return;
            inFlight.push(send(i));
          }
        };
        try {
          topUp();
          for (let head = inFlight.shift(); head; head = inFlight.shift()) {
            let reply: WorkerReply;
            try {
              reply = await head.reply;
            } catch (err) {
              if (signal?.aborted) throw signal.reason;
              // A worker that died parses nothing more: its units, and its share of the rest, are parsed here.
              const orphans = [head, ...inFlight.splice(0)];
              warnings.push({
                source: units[head.i]!.name,
                code: 'worker-exited',
                message: `a parser worker thread stopped (${err instanceof Error ? err.message : String(err)}) with ${orphans.length} log(s) in flight; they and the logs left were parsed on the calling thread`,
              });
              for (const { i } of orphans) await parseHere(i);
              await inProcessLane();
              return;
            }
            topUp();
            const unit = units[head.i]!;
            done++;
            if (reply.ok) {
              bytes += reply.parsed.bytes;
              await accept(unit, reply.parsed);
            } else reject(unit, reviveError(reply));
            onProgress?.({ done, total, bytes, current: unit.name });
          }
        } finally {
          await lane.close();
        }
      };
      const lanes = Array.from({ length: workerLanes }, () => new WorkerLane(script!, options));
      // The calling thread parses too when the workers are fewer than the parsers (or there are none).
      const callingLane = lanes.length < parsers || lanes.length === 0;
      const laneCount = lanes.length + (callingLane ? 1 : 0);
      // One lane failing (a consumer's error, an abort) stops the others taking more work.
      const guard = (p: Promise<void>) =>
        p.catch((err: unknown) => {
          stop = true;
          throw err;
        });
      try {
        const here = callingLane ? [guard(inProcessLane())] : [];
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
