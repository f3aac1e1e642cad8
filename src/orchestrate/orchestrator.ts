/**
 * The orchestrator: creates runs of pipelines on their schedules (with catch-up, backfill, a maximum of
 * active runs, pause), starts each job when its upstream jobs succeed (bounded by p-queue concurrency:
 * global, per pipeline, per named pool; ordered by priority), follows it through a submission adapter to its
 * end (retries with backoff, timeouts that cancel the Spark application, skipping the downstream of a failure),
 * keeps every state in the store, and collects the event log of each finished job.
 *
 * Durable and safe: the submission key of an attempt is stored before it is submitted; attempts are leased to
 * one orchestrator at a time (conditional updates, `SKIP LOCKED` where the dialect has it), and the lease is
 * renewed while the job runs. A process that dies leaves leases that expire; another process (or the same one
 * restarted) then takes the attempt over: it re-attaches to a submitted job through the adapter's `status`,
 * and looks an unconfirmed submission up by its key before submitting, so no job is submitted twice.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import PQueue from 'p-queue';
import { z } from 'zod';
import { isTerminal, type SubmissionAdapter, type SubmissionStatus } from '../adapters/adapter.js';
import { type Clock, realClock } from '../adapters/clock.js';
import { OrchestratorError, SubmissionError } from '../errors.js';
import type { Recommendation } from '../recommend/recommender.js';
import { propertiesOf } from '../recommend/settings.js';
import type { Tuner } from '../recommend/tuner.js';
import { ingestEventLogs } from '../store/ingest.js';
import type { Store } from '../store/knex/connect.js';
import { tableNames } from '../store/knex/tables.js';
import type {
  ClaimedJobRun,
  JobRunData,
  JobRunRecord,
  JobRunStatus,
  JobRunTransition,
  RunData,
  RunRecord,
  RunRepository,
  RunStatus,
} from '../store/run-repository.js';
import { jobKeyOf } from '../store/summary.js';
import { formatZodIssues } from '../util/zod.js';
import {
  downstreamOf,
  type ExplicitResources,
  type Job,
  type PipelineDefinition,
  topologicalOrder,
} from './pipeline.js';
import {
  type DataInterval,
  intervalEndingAtOrBefore,
  intervalsBetween,
  nextFireTime,
  renderJob,
} from './schedule.js';

/** Options of {@link createOrchestrator} that are plain data. */
export const orchestratorOptionsSchema = z.strictObject({
  /**
   * This process's owner id on leases (at most 128 characters). Give each process a stable, distinct id
   * (e.g. the host name and a slot) so that a restarted process takes its own work back at once; by default
   * a random id, and a restarted process waits for its old leases to expire.
   */
  owner: z.string().min(1).max(128).optional(),
  /** How long a lease lasts without renewal, ms (default 60 s); renewed every third of it. */
  leaseMs: z.int().min(100).default(60_000),
  /** How often the store is polled for work of other processes, due schedules and expired leases, ms. */
  pollMs: z.int().min(1).default(5_000),
  /** How often a running job's status is polled when the adapter has no `wait`, ms. */
  statusPollMs: z.int().min(1).default(5_000),
  /** Create scheduled runs (default true); `false` for a process that only executes work. */
  schedule: z.boolean().default(true),
  concurrency: z
    .strictObject({
      /** Jobs this process runs at once (default 16). */
      global: z.int().min(1).default(16),
      /** Per pipeline, by name; a pipeline not named here is bounded by `pipelineDefault` (default: none). */
      perPipeline: z.record(z.string(), z.int().min(1)).default({}),
      pipelineDefault: z.int().min(1).optional(),
      /** Per named pool (a job's `pool`). A pool not named here is unbounded. */
      pools: z.record(z.string(), z.int().min(1)).default({}),
    })
    .prefault({}),
  /** Closing the loop: where finished jobs' event logs are (`spark.eventLog.dir`), to collect and store them. */
  collect: z
    .strictObject({
      eventLogDir: z.string().min(1),
      /** Wait this long for a log still named `.inprogress` to be renamed, ms (default 30 s). */
      settleMs: z.int().min(0).default(30_000),
      /** After storing a log, analyze it and recommend settings for the job's next run (needs `tuner`). */
      tune: z.boolean().default(true),
    })
    .optional(),
});

/** Options of {@link createOrchestrator}, as passed. */
export type OrchestratorOptionsInput = z.input<typeof orchestratorOptionsSchema> & {
  /** The store (from `openStore` or `createKnexStore`). */
  store: Store;
  /** Submission adapters by name; a job picks one with `adapter` (default `'default'`). */
  adapters: Record<string, SubmissionAdapter>;
  /** The pipelines this process schedules and runs. */
  pipelines: readonly PipelineDefinition[];
  /** The clock (default: the real one). Tests pass a `ManualClock`. */
  clock?: Clock;
  /** For `resources: { mode: 'auto' }` and for recommending after each collected run. */
  tuner?: Tuner;
};

/** A run, for events. */
export interface RunEvent {
  run: RunRecord;
}
/** An attempt of a job, for events. */
export interface JobEvent {
  jobRun: JobRunRecord;
}

/** Every event the orchestrator emits, with its payload. */
export interface OrchestratorEvents {
  /** A run was created (scheduled, backfill or manual), `queued`. */
  'run:created': (e: RunEvent) => void;
  /** A run left `queued`: its root jobs are queued. */
  'run:started': (e: RunEvent) => void;
  'run:succeeded': (e: RunEvent) => void;
  /** Some job of the run failed for good (its downstream jobs were skipped). */
  'run:failed': (e: RunEvent) => void;
  /** An attempt is ready to be claimed (at `jobRun.notBefore`). */
  'job:queued': (e: JobEvent) => void;
  /** The adapter accepted the attempt. */
  'job:submitted': (e: JobEvent & { submissionId: string }) => void;
  /** An attempt left by another (or an earlier) process was taken over and followed from where it was. */
  'job:reattached': (e: JobEvent & { submissionId?: string }) => void;
  'job:succeeded': (e: JobEvent) => void;
  /** An attempt failed; `willRetry` says whether another attempt follows. */
  'job:failed': (e: JobEvent & { error: string; willRetry: boolean }) => void;
  /** Another attempt was queued after a failure, `delayMs` later. */
  'job:retry': (e: JobEvent & { delayMs: number }) => void;
  /** The attempt ran past its timeout; it was cancelled. */
  'job:timeout': (e: JobEvent) => void;
  /** Not run because an upstream job failed. */
  'job:skipped': (e: JobEvent) => void;
  /** The event log of a finished attempt was stored (and analyzed, when a tuner is set). */
  'job:collected': (
    e: JobEvent & { appId: string; attemptId: string; recommendation?: Recommendation },
  ) => void;
  /** Something failed in the background (the store was unreachable, a log could not be collected). */
  error: (error: Error) => void;
}

/** What {@link Orchestrator.backfill} takes. */
export interface BackfillOptions {
  /** Intervals starting at or after this instant. */
  from: Date;
  /** Intervals ending at or before this instant. */
  to: Date;
  /** Runs of this backfill active at once (default 1). */
  concurrency?: number;
  /** Oldest interval first (default) or newest first. */
  order?: 'oldest' | 'newest';
}

interface PipelineState {
  def: PipelineDefinition;
  jobs: Map<string, Readonly<Job>>;
  order: Map<string, number>;
  roots: string[];
  leaves: Set<string>;
  queue?: PQueue;
}

const ACTIVE: readonly JobRunStatus[] = ['pending', 'queued', 'submitting', 'running'];
const CLAIMED: readonly JobRunStatus[] = ['submitting', 'running'];

const hash = (text: string, n = 24): string =>
  createHash('sha256').update(text).digest('base64url').slice(0, n);
const shortId = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 26)}~${hash(text)}`;

/** The id of a pipeline's run over an interval: `<pipeline>@<start ISO>`, hashed past 64 characters. */
export function runIdFor(pipeline: string, interval: DataInterval): string {
  return shortId(`${pipeline}@${interval.start.toISOString()}`, 64);
}

/** The Spark properties of explicit resources (`spark.executor.instances`, `.cores`, `.memory`, ...). */
export function resourceProperties(r: ExplicitResources): Record<string, string> {
  return propertiesOf({
    executors: r.executors,
    coresPerExecutor: r.coresPerExecutor,
    executorMemoryMb: r.executorMemoryMb,
    memoryOverheadMb: r.memoryOverheadMb,
    driverMemoryMb: r.driverMemoryMb,
    ...(r.shufflePartitions !== undefined ? { shufflePartitions: r.shufflePartitions } : {}),
    ...(r.dynamicAllocation ? { dynamicAllocation: r.dynamicAllocation } : {}),
  });
}

/** The Spark application name the orchestrator gives a job: `<pipeline>.<job>` (stable, so runs group). */
export function appNameOf(pipeline: string, job: string): string {
  return `${pipeline}.${job}`;
}

/**
 * Gathers calls made in one tick of the event loop and hands them to `fn` together (one store statement for
 * many jobs that end at once). Each caller gets its own item's result.
 */
class Coalescer<T, R> {
  #items: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  readonly #fn: (items: T[]) => Promise<R[]>;

  constructor(fn: (items: T[]) => Promise<R[]>) {
    this.#fn = fn;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#items.push({ item, resolve, reject });
      if (this.#items.length === 1) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#items.splice(0);
    try {
      const out = await this.#fn(batch.map((b) => b.item));
      for (const [i, b] of batch.entries()) b.resolve(out[i] as R);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}

/**
 * Runs pipelines. Create it with {@link createOrchestrator}; `start()` it; listen to its events.
 */
export class Orchestrator extends EventEmitter<OrchestratorEvents> {
  /** This process's owner id on leases. */
  readonly owner: string;
  readonly #o: z.output<typeof orchestratorOptionsSchema>;
  readonly #store: Store;
  readonly #adapters: Record<string, SubmissionAdapter>;
  readonly #clock: Clock;
  readonly #tuner: Tuner | undefined;
  readonly #pipelines = new Map<string, PipelineState>();
  readonly #global: PQueue;
  readonly #pools = new Map<string, PQueue>();
  /** Attempts this process claimed and has not finished with; `started` once a concurrency slot ran it. */
  readonly #inflight = new Map<
    string,
    { abort: AbortController; done: Promise<void>; claimed: ClaimedJobRun; started: boolean }
  >();
  readonly #nextFire = new Map<string, number>();
  readonly #runCache = new Map<string, RunRecord>();
  readonly #runWaiters = new Map<string, ((r: RunRecord) => void)[]>();
  readonly #idleWaiters: (() => void)[] = [];
  #busy = 0;
  #started = false;
  #stopped = false;
  /** The scheduling pass in progress (it never rejects); {@link Orchestrator.stop} waits for it. */
  #pass: Promise<void> | undefined;
  #again = false;
  #activationDirty = true;
  #firstClaim = true;
  #pumpTimer: unknown;
  #pumpAt = Number.POSITIVE_INFINITY;
  #heartbeatTimer: unknown;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  readonly #background = new Set<Promise<unknown>>();
  /** Attempt moves of many jobs at once, written in one statement per tick. */
  readonly #transitions = new Coalescer<JobRunTransition, boolean>((items) =>
    this.#store.runs.transitionJobRuns(items, this.#clock.now(), { leaseOwner: this.owner, status: CLAIMED }),
  );
  /** What follows the end of jobs (queue their downstream, finish their run), once per run per tick. */
  readonly #afterJobs = new Coalescer<{ run: RunRecord; jobs: readonly string[]; checkDone: boolean }, void>(
    async (items) => {
      const byRun = new Map<string, { run: RunRecord; jobs: Set<string>; checkDone: boolean }>();
      for (const it of items) {
        const cur = byRun.get(it.run.id) ?? { run: it.run, jobs: new Set<string>(), checkDone: false };
        for (const j of it.jobs) cur.jobs.add(j);
        cur.checkDone ||= it.checkDone;
        byRun.set(it.run.id, cur);
      }
      for (const { run, jobs, checkDone } of byRun.values()) {
        if (jobs.size > 0) await this.#reconcile(run, [...jobs]);
        if (checkDone) await this.#checkRunDone(run);
      }
      return items.map(() => undefined);
    },
  );

  /** @internal Use {@link createOrchestrator}. */
  constructor(options: OrchestratorOptionsInput) {
    super();
    const { store, adapters, pipelines, clock, tuner, ...rest } = options;
    const parsed = orchestratorOptionsSchema.safeParse(rest);
    if (!parsed.success) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_CONFIG',
        `[sparkpilot] [orchestrator] invalid options: ${formatZodIssues(parsed.error)}. Fix the options passed to createOrchestrator.`,
        { cause: parsed.error },
      );
    }
    this.#o = parsed.data;
    this.owner = this.#o.owner ?? `sparkpilot-${randomUUID()}`;
    this.#store = store;
    this.#adapters = adapters;
    this.#clock = clock ?? realClock;
    this.#tuner = tuner;
    if (!store?.runs) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_CONFIG',
        '[sparkpilot] [orchestrator] `store` has no `runs` repository. Pass a store from openStore() or createKnexStore().',
      );
    }
    this.#global = new PQueue({ concurrency: this.#o.concurrency.global });
    for (const def of pipelines) this.#addPipeline(def);
    for (const p of this.#pipelines.values()) {
      for (const w of p.def.waitFor) {
        if (!this.#pipelines.has(w.pipeline)) {
          throw new OrchestratorError(
            'SPARKPILOT_ORCHESTRATOR_CONFIG',
            `[sparkpilot] [pipeline ${p.def.name}] waits for pipeline "${w.pipeline}", which this orchestrator does not know. Pass both pipelines to createOrchestrator.`,
          );
        }
      }
      for (const job of p.def.jobs) {
        const name = job.adapter ?? 'default';
        if (!adapters[name]) {
          throw new OrchestratorError(
            'SPARKPILOT_ORCHESTRATOR_CONFIG',
            `[sparkpilot] [pipeline ${p.def.name}] job "${job.name}" submits through adapter "${name}", which is not in \`adapters\` (known: ${Object.keys(adapters).join(', ') || 'none'}). Add it to the adapters passed to createOrchestrator.`,
          );
        }
      }
    }
  }

  #addPipeline(def: PipelineDefinition): void {
    if (this.#pipelines.has(def.name)) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_CONFIG',
        `[sparkpilot] [orchestrator] pipeline "${def.name}" is given twice. Pipeline names must be unique.`,
      );
    }
    const order = new Map<string, number>();
    for (const [i, j] of topologicalOrder(def).entries()) order.set(j.name, i);
    const limit = this.#o.concurrency.perPipeline[def.name] ?? this.#o.concurrency.pipelineDefault;
    this.#pipelines.set(def.name, {
      def,
      jobs: new Map(def.jobs.map((j) => [j.name, j])),
      order,
      roots: def.jobs.filter((j) => (def.upstream[j.name] ?? []).length === 0).map((j) => j.name),
      leaves: new Set(def.jobs.filter((j) => (def.downstream[j.name] ?? []).length === 0).map((j) => j.name)),
      ...(limit !== undefined ? { queue: new PQueue({ concurrency: limit }) } : {}),
    });
  }

  #pipeline(name: string): PipelineState {
    const p = this.#pipelines.get(name);
    if (!p) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_UNKNOWN_PIPELINE',
        `[sparkpilot] [orchestrator] unknown pipeline "${name}" (known: ${[...this.#pipelines.keys()].join(', ')}).`,
      );
    }
    return p;
  }

  // ---- busy / idle tracking (tests drive a ManualClock between idle points) ----

  async #work<T>(fn: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await fn();
    } finally {
      this.#busy--;
      if (this.#busy === 0 && this.#idleWaiters.length > 0) setImmediate(() => this.#checkIdle());
    }
  }

  async #outside<T>(p: Promise<T>): Promise<T> {
    this.#busy--;
    if (this.#busy === 0 && this.#idleWaiters.length > 0) setImmediate(() => this.#checkIdle());
    try {
      return await p;
    } finally {
      this.#busy++;
    }
  }

  /** Whether some queue holds a task that a free slot lets start (p-queue starts it on a later tick). */
  #queuesMoving(): boolean {
    const moving = (q: PQueue) => q.size > 0 && q.pending < q.concurrency;
    if (moving(this.#global)) return true;
    for (const q of this.#pools.values()) if (moving(q)) return true;
    for (const p of this.#pipelines.values()) if (p.queue && moving(p.queue)) return true;
    return false;
  }

  #quiet(): boolean {
    return this.#busy === 0 && this.#pass === undefined && !this.#queuesMoving();
  }

  #checkIdle(): void {
    if (!this.#quiet()) {
      if (this.#busy === 0 && this.#idleWaiters.length > 0) setImmediate(() => this.#checkIdle());
      return;
    }
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  /**
   * Resolves when the orchestrator has nothing to do but wait: for timers, for running jobs, for other
   * processes. Tests with a `ManualClock` call it between advances.
   */
  async idle(): Promise<void> {
    for (let quiet = 0; quiet < 2; ) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.#quiet()) quiet++;
      else {
        quiet = 0;
        await new Promise<void>((r) => this.#idleWaiters.push(r));
      }
    }
  }

  #track(p: Promise<unknown>): void {
    const q = p.catch((err) => this.#emitError(err as Error)).finally(() => this.#background.delete(q));
    this.#background.add(q);
  }

  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  // ---- lifecycle ----

  /** Start scheduling and running: takes this owner's own leased work back, then polls. */
  async start(): Promise<void> {
    if (this.#stopped) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_STOPPED',
        '[sparkpilot] [orchestrator] stopped; create a new one.',
      );
    }
    if (this.#started) return;
    this.#started = true;
    // The clock's timers do not hold the process open (the real clock unrefs them); a started orchestrator does.
    this.#keepAlive = setInterval(() => {}, 2 ** 30);
    this.#scheduleHeartbeat();
    await this.#pump();
  }

  /**
   * Stop: no new work is claimed, timers stop, and the following of running jobs ends. Jobs already
   * submitted keep running on the cluster; their leases expire, and the next orchestrator re-attaches to them.
   * Attempts it claimed but had not submitted yet (still waiting for a concurrency slot, or claimed by the pass
   * that `stop()` interrupted) are queued again for any orchestrator. Resolves when the orchestrator has stopped
   * using the store (the scheduling pass in progress, the jobs it follows and their bookkeeping have ended), so
   * the store can be closed then.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    if (this.#pumpTimer !== undefined) this.#clock.clearTimeout(this.#pumpTimer);
    if (this.#heartbeatTimer !== undefined) this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#pumpTimer = undefined;
    this.#heartbeatTimer = undefined;
    for (const f of this.#inflight.values())
      f.abort.abort(new OrchestratorError('SPARKPILOT_ORCHESTRATOR_STOPPED', 'stopped'));
    await this.#pass;
    const inflight = [...this.#inflight.values()];
    await Promise.allSettled(inflight.map((f) => f.done));
    await Promise.allSettled([...this.#background]);
    this.#global.clear();
    // Attempts still waiting for a concurrency slot were never submitted: hand them back too.
    await this.#release(inflight.filter((f) => !f.started).map((f) => f.claimed)).catch((err: Error) =>
      this.#emitError(err),
    );
  }

  #scheduleHeartbeat(): void {
    if (this.#stopped) return;
    this.#heartbeatTimer = this.#clock.setTimeout(
      () => {
        this.#track(
          this.#work(async () => {
            if (this.#inflight.size > 0) {
              await this.#store.runs.heartbeat(
                this.owner,
                [...this.#inflight.keys()],
                this.#clock.now() + this.#o.leaseMs,
              );
            }
          }).finally(() => this.#scheduleHeartbeat()),
        );
      },
      Math.max(1, Math.floor(this.#o.leaseMs / 3)),
    );
  }

  #wakeAt(t: number): void {
    if (this.#stopped || !this.#started) return;
    if (t >= this.#pumpAt) return;
    if (this.#pumpTimer !== undefined) this.#clock.clearTimeout(this.#pumpTimer);
    this.#pumpAt = t;
    this.#pumpTimer = this.#clock.setTimeout(
      () => {
        this.#pumpTimer = undefined;
        this.#pumpAt = Number.POSITIVE_INFINITY;
        this.#activationDirty = true;
        void this.#pump();
      },
      Math.max(0, t - this.#clock.now()),
    );
  }

  /** Run one scheduling pass now (create due runs, start runs, claim and dispatch ready jobs). */
  async tick(): Promise<void> {
    this.#activationDirty = true;
    await this.#pump();
  }

  async #pump(): Promise<void> {
    if (!this.#started || this.#stopped) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    // Set before any of the pass runs, so that nothing it calls can start a second one.
    this.#pass = Promise.resolve().then(() => this.#runPass());
    await this.#pass;
  }

  async #runPass(): Promise<void> {
    try {
      await this.#work(async () => {
        try {
          do {
            this.#again = false;
            await this.#pumpOnce();
          } while (this.#again && !this.#stopped);
        } finally {
          if (!this.#stopped) await this.#planNextPump();
        }
      });
    } catch (err) {
      this.#emitError(err as Error);
      // The store may be back by the next poll.
      if (!this.#stopped && this.#pumpAt === Number.POSITIVE_INFINITY)
        this.#wakeAt(this.#clock.now() + this.#o.pollMs);
    } finally {
      this.#pass = undefined;
      // Work that arrived after the last pass (a job ended while the next wake-up was being planned).
      if (this.#again && !this.#stopped) void this.#pump();
      else if (this.#busy === 0) setImmediate(() => this.#checkIdle());
    }
  }

  async #planNextPump(): Promise<void> {
    const now = this.#clock.now();
    let next = now + this.#o.pollMs;
    if (this.#o.schedule) for (const t of this.#nextFire.values()) next = Math.min(next, t);
    const due = await this.#store.runs.nextDue([...this.#pipelines.keys()]);
    if (due !== undefined && due > now) next = Math.min(next, due);
    this.#wakeAt(Math.max(now, next));
  }

  async #pumpOnce(): Promise<void> {
    const now = this.#clock.now();
    // stop() waits for this pass: it ends at the next step once stopped.
    if (this.#o.schedule) {
      for (const p of this.#pipelines.values()) {
        if (this.#stopped) return;
        const due = this.#nextFire.get(p.def.name);
        if (due === undefined || due <= now) await this.#createDueRuns(p, now);
      }
    }
    if (this.#activationDirty) {
      this.#activationDirty = false;
      for (const p of this.#pipelines.values()) {
        if (this.#stopped) return;
        await this.#activateRuns(p);
      }
    }
    if (this.#stopped) return;
    await this.#claimAndDispatch();
  }

  // ---- runs ----

  async #createDueRuns(p: PipelineState, now: number): Promise<void> {
    const { def } = p;
    this.#nextFire.set(
      def.name,
      nextFireTime(def.schedule, def.timezone, new Date(now), { pipeline: def.name }).getTime(),
    );
    if (await this.#store.runs.isPaused(def.name)) return;
    const latest = intervalEndingAtOrBefore(def.schedule, def.timezone, new Date(now), {
      pipeline: def.name,
    });
    const lastEnd = await this.#store.runs.latestScheduledEnd(def.name);
    let intervals: DataInterval[];
    if (lastEnd === undefined) {
      intervals =
        def.start && def.catchup
          ? intervalsBetween(def.schedule, def.timezone, def.start, new Date(now), { pipeline: def.name })
          : def.start && latest.start.getTime() < def.start.getTime()
            ? []
            : [latest];
    } else if (def.catchup) {
      intervals = intervalsBetween(def.schedule, def.timezone, new Date(lastEnd), new Date(now), {
        pipeline: def.name,
      });
    } else {
      intervals = latest.end.getTime() > lastEnd ? [latest] : [];
    }
    for (const interval of intervals) await this.#createRun(def.name, interval, { trigger: 'schedule' });
  }

  async #createRun(pipeline: string, interval: DataInterval, data: RunData): Promise<RunRecord> {
    const now = this.#clock.now();
    const run: RunRecord = {
      id: runIdFor(pipeline, interval),
      pipeline,
      intervalStart: interval.start.getTime(),
      intervalEnd: interval.end.getTime(),
      status: 'queued',
      createdAt: now,
      updatedAt: now,
      data,
    };
    if (await this.#store.runs.createRun(run)) {
      this.#activationDirty = true;
      this.emit('run:created', { run });
      return run;
    }
    return (await this.#store.runs.findRun(pipeline, run.intervalStart, run.intervalEnd)) ?? run;
  }

  async #waitSatisfied(p: PipelineState, run: RunRecord, repo: RunRepository): Promise<boolean> {
    for (const w of p.def.waitFor) {
      const other = this.#pipeline(w.pipeline).def;
      const needed = intervalsBetween(
        other.schedule,
        other.timezone,
        new Date(run.intervalStart),
        new Date(run.intervalEnd),
        {
          pipeline: other.name,
        },
      );
      if (needed.length === 0) return false;
      const done = await repo.listRuns({
        pipeline: other.name,
        status: ['succeeded'],
        endAfter: run.intervalStart,
        startBefore: run.intervalEnd,
        limit: 100_000,
      });
      const have = new Set(done.map((r) => `${r.intervalStart}/${r.intervalEnd}`));
      if (!needed.every((i) => have.has(`${i.start.getTime()}/${i.end.getTime()}`))) return false;
    }
    return true;
  }

  async #activateRuns(p: PipelineState): Promise<void> {
    const name = p.def.name;
    const repo = this.#store.runs;
    if (await repo.isPaused(name)) return;
    const queued = await repo.listRuns({ pipeline: name, status: ['queued'], limit: 100_000 });
    if (queued.length === 0) return;
    const started = await repo.withPipelineLock(name, this.#clock.now(), async (locked) => {
      const out: RunRecord[] = [];
      const active = await locked.listRuns({ pipeline: name, status: ['running'], limit: 100_000 });
      const waiting = (
        await locked.listRuns({ pipeline: name, status: ['queued'], limit: 100_000 })
      ).reverse();
      let scheduledActive = active.filter((r) => r.data.trigger !== 'backfill').length;
      const backfillActive = new Map<string, number>();
      for (const r of active) {
        if (r.data.backfill)
          backfillActive.set(r.data.backfill.id, (backfillActive.get(r.data.backfill.id) ?? 0) + 1);
      }
      const backfills = waiting
        .filter((r) => r.data.backfill)
        .sort((a, b) => a.data.backfill!.seq - b.data.backfill!.seq);
      const others = waiting.filter((r) => !r.data.backfill);
      const start = async (r: RunRecord): Promise<boolean> => {
        if (!(await this.#waitSatisfied(p, r, locked))) return false;
        const now = this.#clock.now();
        if (!(await locked.setRunStatus(r.id, 'running', ['queued'], now, { startedAt: now }))) return false;
        out.push({ ...r, status: 'running', updatedAt: now, data: { ...r.data, startedAt: now } });
        return true;
      };
      for (const r of others) {
        if (scheduledActive >= p.def.maxActiveRuns) break;
        if (await start(r)) scheduledActive++;
      }
      for (const r of backfills) {
        const b = r.data.backfill!;
        const n = backfillActive.get(b.id) ?? 0;
        if (n >= b.concurrency) continue;
        if (await start(r)) backfillActive.set(b.id, n + 1);
      }
      return out;
    });
    for (const run of started) {
      this.#runCache.set(run.id, run);
      this.emit('run:started', { run });
      await this.#reconcile(run, p.roots);
      await this.#checkRunDone(run);
    }
  }

  /**
   * Bring the placeholder attempts of `jobs` (and, when their state changes to or from skipped, of their
   * downstream jobs) in line with their upstream jobs: queue the ready ones, skip those under a failure.
   */
  async #reconcile(run: RunRecord, jobs: readonly string[]): Promise<void> {
    const p = this.#pipeline(run.pipeline);
    const { def } = p;
    const want = new Set(jobs);
    const look = new Set<string>();
    for (const j of want) {
      look.add(j);
      for (const u of def.upstream[j] ?? []) look.add(u);
    }
    const latest = new Map<string, JobRunRecord>();
    for (const r of await this.#store.runs.jobRuns(run.id, [...look])) {
      const cur = latest.get(r.job);
      if (!cur || r.try > cur.try) latest.set(r.job, r);
    }
    const order = (a: string, b: string) => p.order.get(a)! - p.order.get(b)!;
    const pending = [...want].sort(order);
    const inserts: JobRunRecord[] = [];
    const events: [JobRunRecord, 'queued' | 'skipped'][] = [];
    const now = this.#clock.now();
    while (pending.length > 0) {
      const j = pending.shift()!;
      const cur = latest.get(j);
      if (cur && cur.status !== 'pending' && cur.status !== 'skipped') continue;
      for (const u of def.upstream[j] ?? []) {
        if (!latest.has(u) && !look.has(u)) {
          look.add(u);
          for (const r of await this.#store.runs.jobRuns(run.id, [u])) {
            const c = latest.get(r.job);
            if (!c || r.try > c.try) latest.set(r.job, r);
          }
        }
      }
      const ups = (def.upstream[j] ?? []).map((u) => latest.get(u)?.status);
      const desired: JobRunStatus = ups.some((s) => s === 'failed' || s === 'skipped')
        ? 'skipped'
        : ups.every((s) => s === 'succeeded')
          ? 'queued'
          : 'pending';
      if (cur?.status === desired || (!cur && desired === 'pending')) continue;
      let next: JobRunRecord;
      if (!cur) {
        next = this.#newJobRun(run, p.jobs.get(j)!, 1, desired, now);
        inserts.push(next);
      } else {
        const patch = {
          status: desired,
          notBefore: now,
          data: desired === 'skipped' ? { message: 'an upstream job failed' } : {},
        };
        if (!(await this.#store.runs.updateJobRun(cur.id, patch, now, { status: [cur.status] }))) continue;
        next = { ...cur, status: desired, notBefore: now };
        if (desired !== 'pending') events.push([next, desired]);
      }
      latest.set(j, next);
      if (desired === 'skipped' || cur?.status === 'skipped') {
        for (const d of def.downstream[j] ?? []) {
          if (!pending.includes(d)) {
            pending.push(d);
            pending.sort(order);
          }
        }
      }
    }
    const inserted = new Set(await this.#store.runs.insertJobRuns(inserts));
    for (const r of inserts)
      if (inserted.has(r.id) && r.status !== 'pending') events.push([r, r.status as 'queued' | 'skipped']);
    for (const [r, s] of events) {
      if (s === 'queued') this.emit('job:queued', { jobRun: r });
      else this.emit('job:skipped', { jobRun: r });
    }
    if (events.some(([, s]) => s === 'queued')) this.#again = true;
  }

  #newJobRun(
    run: RunRecord,
    job: Readonly<Job>,
    attempt: number,
    status: JobRunStatus,
    now: number,
    data: JobRunData = {},
  ): JobRunRecord {
    const readable = `${run.id}/${job.name}/${attempt}`;
    return {
      id: shortId(readable, 64),
      runId: run.id,
      pipeline: run.pipeline,
      job: job.name,
      try: attempt,
      status,
      submissionKey: shortId(
        `${run.pipeline}/${new Date(run.intervalStart).toISOString()}/${job.name}/${attempt}`,
        128,
      ),
      notBefore: now,
      priority: job.priority,
      ...(job.pool !== undefined ? { pool: job.pool } : {}),
      createdAt: now,
      updatedAt: now,
      data: status === 'skipped' ? { message: 'an upstream job failed', ...data } : data,
    };
  }

  async #checkRunDone(run: RunRecord): Promise<void> {
    if ((await this.#store.runs.countActive(run.id)) > 0) return;
    const rows = await this.#store.runs.jobRuns(run.id);
    const latest = new Map<string, JobRunRecord>();
    for (const r of rows) if (!latest.has(r.job) || r.try > latest.get(r.job)!.try) latest.set(r.job, r);
    const p = this.#pipeline(run.pipeline);
    if (latest.size < p.def.jobs.length) return;
    const ok = [...latest.values()].every((r) => r.status === 'succeeded');
    const status: RunStatus = ok ? 'succeeded' : 'failed';
    const now = this.#clock.now();
    if (!(await this.#store.runs.setRunStatus(run.id, status, ['running'], now, { finishedAt: now }))) return;
    const done = { ...run, status, updatedAt: now, data: { ...run.data, finishedAt: now } };
    this.#runCache.delete(run.id);
    this.#activationDirty = true;
    this.#again = true;
    this.emit(ok ? 'run:succeeded' : 'run:failed', { run: done });
    for (const w of this.#runWaiters.get(run.id)?.splice(0) ?? []) w(done);
  }

  async #run(id: string): Promise<RunRecord> {
    const cached = this.#runCache.get(id);
    if (cached) return cached;
    const run = await this.#store.runs.getRun(id);
    if (!run) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_UNKNOWN_RUN',
        `[sparkpilot] [orchestrator] unknown run "${id}".`,
      );
    }
    if (run.status === 'running') this.#runCache.set(id, run);
    return run;
  }

  // ---- claiming and executing attempts ----

  async #claimAndDispatch(): Promise<void> {
    const free = this.#o.concurrency.global - this.#inflight.size;
    if (free <= 0) return;
    const claimed = await this.#store.runs.claim({
      owner: this.owner,
      now: this.#clock.now(),
      leaseMs: this.#o.leaseMs,
      limit: free,
      pipelines: [...this.#pipelines.keys()],
      reclaimOwn: this.#firstClaim,
    });
    this.#firstClaim = false;
    if (this.#stopped) {
      // stop() came while claiming: hand the attempts back at once rather than run them after stop() or
      // leave them leased until the lease expires.
      await this.#release(claimed);
      return;
    }
    for (const r of claimed) this.#dispatch(r);
    if (claimed.length === free) this.#again = true;
  }

  /**
   * Give back attempts claimed but not started: a queued one is queued again, one taken over keeps its status
   * without a lease, so that any orchestrator claims it at its next poll (not after the lease expires, and not
   * as an attempt "taken over mid-submit", which an adapter that cannot look submissions up would fail).
   */
  async #release(claimed: readonly ClaimedJobRun[]): Promise<void> {
    if (claimed.length === 0) return;
    await this.#store.runs.transitionJobRuns(
      claimed.map((r) => ({
        id: r.id,
        status: r.takenOver ? r.status : 'queued',
        leaseOwner: null,
        leaseExpiresAt: null,
        data: r.data,
      })),
      this.#clock.now(),
      { leaseOwner: this.owner, status: CLAIMED },
    );
  }

  #dispatch(r: ClaimedJobRun): void {
    if (this.#inflight.has(r.id)) return;
    const abort = new AbortController();
    const p = this.#pipelines.get(r.pipeline)!;
    const job = p.jobs.get(r.job);
    const priority = r.priority;
    const task = () =>
      this.#work(async () => {
        entry.started = true;
        try {
          await this.#execute(r, abort.signal);
        } finally {
          // Inside the work, so that idle() never sees the gap between this attempt's end and the next pump.
          this.#inflight.delete(r.id);
          if (!this.#stopped) void this.#pump();
        }
      });
    const inGlobal = () => this.#global.add(task, { priority, signal: abort.signal });
    const inPipeline = p.queue ? () => p.queue!.add(inGlobal, { priority, signal: abort.signal }) : inGlobal;
    const poolLimit = job?.pool !== undefined ? this.#o.concurrency.pools[job.pool] : undefined;
    let run: () => Promise<unknown> = inPipeline;
    if (poolLimit !== undefined && job?.pool !== undefined) {
      let q = this.#pools.get(job.pool);
      if (!q) {
        q = new PQueue({ concurrency: poolLimit });
        this.#pools.set(job.pool, q);
      }
      const pool = q;
      run = () => pool.add(inPipeline, { priority, signal: abort.signal });
    }
    const entry = { abort, done: Promise.resolve(), claimed: r, started: false };
    entry.done = run()
      .catch((err) => {
        if (!abort.signal.aborted) this.#emitError(err as Error);
      })
      .finally(() => {
        if (this.#inflight.get(r.id)?.abort === abort) this.#inflight.delete(r.id);
      }) as Promise<void>;
    this.#inflight.set(r.id, entry);
  }

  #request(
    run: RunRecord,
    p: PipelineState,
    job: Readonly<Job>,
    r: JobRunRecord,
    resourceProps: Record<string, string>,
  ) {
    const rendered = renderJob(job, {
      pipeline: run.pipeline,
      timezone: p.def.timezone,
      interval: { start: new Date(run.intervalStart), end: new Date(run.intervalEnd) },
      run: { id: run.id },
    });
    const name = appNameOf(run.pipeline, job.name);
    return {
      submissionKey: r.submissionKey,
      application: job.application,
      args: rendered.args,
      name,
      properties: {
        ...resourceProps,
        ...rendered.properties,
        'spark.app.name': name,
        'spark.sparkpilot.pipeline': run.pipeline,
        'spark.sparkpilot.job': job.name,
        'spark.sparkpilot.run.id': run.id,
        'spark.sparkpilot.try': String(r.try),
        'spark.sparkpilot.interval.start': new Date(run.intervalStart).toISOString(),
        'spark.sparkpilot.interval.end': new Date(run.intervalEnd).toISOString(),
      },
    };
  }

  async #resources(
    run: RunRecord,
    job: Readonly<Job>,
  ): Promise<{ props: Record<string, string>; source: JobRunData['resources'] }> {
    const r = job.resources;
    if (r.mode === 'explicit') return { props: resourceProperties(r), source: { source: 'explicit' } };
    const fallback = resourceProperties(r.fallback);
    const rec = await this.#store.recommendations.latest(jobKeyOf(appNameOf(run.pipeline, job.name)));
    const data = rec?.data as Partial<Recommendation> | undefined;
    if (rec && rec.confidence >= r.minConfidence && data?.properties) {
      return {
        props: { ...fallback, ...data.properties },
        source: { source: 'recommendation', recommendationId: rec.id, confidence: rec.confidence },
      };
    }
    return { props: fallback, source: { source: 'fallback' } };
  }

  async #execute(r: ClaimedJobRun, signal: AbortSignal): Promise<void> {
    const p = this.#pipelines.get(r.pipeline)!;
    const job = p.jobs.get(r.job);
    const run = await this.#run(r.runId);
    if (!job) {
      await this.#finish(r, run, {
        state: 'FAILED',
        message: `job "${r.job}" is no longer in pipeline "${r.pipeline}"`,
        retryable: false,
      });
      return;
    }
    const adapter = this.#adapters[job.adapter ?? 'default']!;
    let submissionId = r.submissionId;
    let submittedAt = r.data.submittedAt;
    let appId = r.data.appId;
    try {
      if (
        submissionId === undefined &&
        r.takenOver &&
        adapter.capabilities.findBySubmissionKey &&
        adapter.findBySubmissionKey
      ) {
        const found = await this.#outside(adapter.findBySubmissionKey(r.submissionKey, { signal }));
        if (found) {
          submissionId = found.submissionId;
          appId = found.appId ?? appId;
        }
      }
      if (submissionId === undefined) {
        if (r.takenOver && !adapter.capabilities.findBySubmissionKey) {
          await this.#finish(r, run, {
            state: 'FAILED',
            message: `the orchestrator that was submitting this attempt stopped before recording the submission, and adapter "${adapter.name}" cannot look submissions up by key; not submitted again so as not to run it twice. Check the cluster, then rerun the job or mark it succeeded.`,
            retryable: false,
          });
          return;
        }
        const resources = await this.#resources(run, job);
        const request = this.#request(run, p, job, r, resources.props);
        const submission = await this.#outside(adapter.submit(request, { signal }));
        submissionId = submission.submissionId;
        appId = submission.appId ?? appId;
        submittedAt = this.#clock.now();
        const ok = await this.#transitions.add({
          id: r.id,
          status: 'running',
          submissionId,
          leaseOwner: this.owner,
          leaseExpiresAt: submittedAt + this.#o.leaseMs,
          data: Object.assign(r.data, {
            submittedAt,
            properties: request.properties,
            resources: resources.source,
            ...(appId ? { appId } : {}),
          }),
        });
        if (!ok) return; // the lease was lost: another process owns the attempt now
        this.emit('job:submitted', { jobRun: { ...r, status: 'running', submissionId }, submissionId });
      } else {
        if (r.status !== 'running') {
          await this.#store.runs.updateJobRun(r.id, { status: 'running', submissionId }, this.#clock.now(), {
            leaseOwner: this.owner,
          });
        }
        this.emit('job:reattached', { jobRun: { ...r, status: 'running', submissionId }, submissionId });
      }
      submittedAt ??= this.#clock.now();
      const timeoutAt = job.timeoutMs !== undefined ? submittedAt + job.timeoutMs : undefined;
      const status = await this.#follow(adapter, submissionId, timeoutAt, signal);
      if (status === 'timeout') {
        this.emit('job:timeout', { jobRun: r });
        let message = `ran past its timeout of ${job.timeoutMs} ms`;
        if (adapter.capabilities.cancel && adapter.cancel) {
          await this.#outside(adapter.cancel(submissionId, { signal })).catch((err: Error) => {
            message += `; cancelling it failed: ${err.message}`;
          });
          message += '; cancelled';
        } else message += `; adapter "${adapter.name}" cannot cancel, so it may still be running`;
        await this.#finish(r, run, {
          state: 'FAILED',
          message,
          retryable: true,
          timedOut: true,
          ...(appId ? { appId } : {}),
        });
        return;
      }
      await this.#finish(r, run, {
        state: status.state === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
        message: status.message ?? (status.state === 'SUCCEEDED' ? undefined : `ended ${status.state}`),
        retryable: status.state === 'FAILED',
        ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
        ...((status.appId ?? appId) ? { appId: (status.appId ?? appId)! } : {}),
      });
    } catch (err) {
      if (signal.aborted) return; // stopping: the lease expires and the next orchestrator takes over
      const e = err as Error;
      const retryable =
        e instanceof SubmissionError ? e.retryable || e.code === 'SPARKPILOT_SUBMIT_UNKNOWN_ID' : true;
      await this.#finish(r, run, {
        state: 'FAILED',
        message: e.message,
        retryable,
        ...(appId ? { appId } : {}),
      });
    }
  }

  async #follow(
    adapter: SubmissionAdapter,
    submissionId: string,
    timeoutAt: number | undefined,
    signal: AbortSignal,
  ): Promise<SubmissionStatus | 'timeout'> {
    const sleep = (ms: number, s: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const h = this.#clock.setTimeout(() => {
          s.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        const onAbort = () => {
          this.#clock.clearTimeout(h);
          reject(s.reason);
        };
        s.addEventListener('abort', onAbort, { once: true });
      });
    if (adapter.wait) {
      const stop = new AbortController();
      const both = AbortSignal.any([signal, stop.signal]);
      const timer =
        timeoutAt !== undefined
          ? sleep(Math.max(0, timeoutAt - this.#clock.now()), both).then(() => 'timeout' as const)
          : new Promise<never>(() => {});
      try {
        return await this.#outside(Promise.race([adapter.wait(submissionId, { signal: both }), timer]));
      } finally {
        stop.abort();
        timer.catch(() => {});
      }
    }
    let failures = 0;
    for (;;) {
      let status: SubmissionStatus | undefined;
      try {
        status = await this.#outside(adapter.status(submissionId, { signal }));
        failures = 0;
      } catch (err) {
        if (signal.aborted) throw err;
        if (err instanceof SubmissionError && err.code === 'SPARKPILOT_SUBMIT_UNKNOWN_ID') throw err;
        if (++failures >= 5) throw err;
      }
      if (status && isTerminal(status.state)) return status;
      const now = this.#clock.now();
      if (timeoutAt !== undefined && now >= timeoutAt) return 'timeout';
      const wait = Math.min(
        this.#o.statusPollMs,
        timeoutAt !== undefined ? timeoutAt - now : Number.POSITIVE_INFINITY,
      );
      await this.#outside(sleep(Math.max(1, wait), signal));
    }
  }

  async #finish(
    r: JobRunRecord,
    run: RunRecord,
    outcome: {
      state: 'SUCCEEDED' | 'FAILED';
      message?: string | undefined;
      retryable: boolean;
      exitCode?: number;
      appId?: string;
      timedOut?: boolean;
    },
  ): Promise<void> {
    const now = this.#clock.now();
    const ok = outcome.state === 'SUCCEEDED';
    const status: JobRunStatus = ok ? 'succeeded' : 'failed';
    const data: Partial<JobRunData> = {
      finishedAt: now,
      ...(outcome.message !== undefined ? { message: outcome.message } : {}),
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(outcome.appId !== undefined ? { appId: outcome.appId } : {}),
      ...(outcome.timedOut ? { timedOut: true } : {}),
    };
    const p = this.#pipeline(r.pipeline);
    const job = p.jobs.get(r.job);
    const retry = r.data.retry ?? 0;
    const willRetry = !ok && outcome.retryable && job !== undefined && retry < job.retries.attempts;
    let next: JobRunRecord | undefined;
    let delayMs = 0;
    if (willRetry) {
      // The next attempt is stored before this one is marked failed, so that the run never looks finished
      // in between (another job's end checks whether anything is still active).
      const b = job.retries.backoff;
      delayMs = Math.min(b.maxMs, Math.round(b.initialMs * b.factor ** retry));
      next = this.#newJobRun(run, job, r.try + 1, 'queued', now, { retry: retry + 1 });
      next.notBefore = now + delayMs;
      await this.#store.runs.insertJobRuns([next]);
    }
    const updated = await this.#transitions.add({
      id: r.id,
      status,
      leaseOwner: null,
      leaseExpiresAt: null,
      data: { ...r.data, ...data },
    });
    if (!updated) return;
    const done: JobRunRecord = { ...r, status, updatedAt: now, data: { ...r.data, ...data } };
    if (ok) {
      this.emit('job:succeeded', { jobRun: done });
      await this.#afterJobs.add({ run, jobs: p.def.downstream[r.job] ?? [], checkDone: p.leaves.has(r.job) });
    } else {
      this.emit('job:failed', { jobRun: done, error: outcome.message ?? 'failed', willRetry });
      if (next) {
        this.emit('job:retry', { jobRun: next, delayMs });
        this.#wakeAt(next.notBefore);
      } else {
        await this.#afterJobs.add({ run, jobs: downstreamOf(p.def, r.job), checkDone: true });
      }
    }
    // Jobs of a shared session (Livy session, spark-session) have no event log of their own: the session's
    // application holds every job's stages.
    const adapter = this.#adapters[job?.adapter ?? 'default'];
    if (outcome.appId && this.#o.collect && !adapter?.capabilities.sessions) {
      const appId = outcome.appId;
      this.#track(this.#work(() => this.#collect(done, appId)));
    }
  }

  // ---- closing the loop ----

  async #findLog(appId: string): Promise<string | undefined> {
    const dir = this.#o.collect!.eventLogDir.replace(/^file:(\/\/)?/, '');
    const deadline = this.#clock.now() + this.#o.collect!.settleMs;
    for (;;) {
      const names = await readdir(dir).catch(() => [] as string[]);
      const mine = names.filter(
        (n) =>
          n === appId ||
          n.startsWith(`${appId}.`) ||
          n.startsWith(`${appId}_`) ||
          n === `eventlog_v2_${appId}` ||
          n.startsWith(`eventlog_v2_${appId}_`),
      );
      const final = mine.filter((n) => !n.endsWith('.inprogress'));
      if (final.length > 0) return join(dir, final.sort().at(-1)!);
      if (mine.length === 0 && names.length >= 0 && this.#clock.now() >= deadline) return undefined;
      if (this.#clock.now() >= deadline) return mine.length > 0 ? join(dir, mine.sort().at(-1)!) : undefined;
      await this.#outside(new Promise((r) => setTimeout(r, 250)));
    }
  }

  async #collect(r: JobRunRecord, appId: string): Promise<void> {
    let path: string | undefined;
    try {
      path = await this.#findLog(appId);
      if (!path)
        throw new Error(
          `no event log of ${appId} in ${this.#o.collect!.eventLogDir} (is spark.eventLog.enabled=true with spark.eventLog.dir pointing there?)`,
        );
      await stat(path);
      const report = await ingestEventLogs(this.#store, [path], { workers: 1, force: true });
      if (report.failed.length > 0)
        throw new Error(report.failed.map((f) => `${f.source}: ${f.message}`).join('; '));
      const t = tableNames(this.#store.tablePrefix);
      const row = await this.#store
        .knex(t.attempts)
        .where({ app_id: appId })
        .orderBy('id', 'desc')
        .first('id', 'attempt_id');
      if (!row) throw new Error(`${path} was read, but no attempt of ${appId} was stored`);
      const attemptId = String(row.attempt_id ?? '');
      await this.#store.runs.updateJobRun(
        r.id,
        { attemptPk: Number(row.id), data: { eventLog: { appId, attemptId, source: path } } },
        this.#clock.now(),
      );
      let recommendation: Recommendation | undefined;
      if (this.#tuner && this.#o.collect!.tune) {
        try {
          recommendation = await this.#tune(r, appId, attemptId);
        } catch (err) {
          // The log is stored and linked; only the tuning failed (e.g. too little history).
          this.#emitError(
            new OrchestratorError(
              'SPARKPILOT_ORCHESTRATOR_STATE',
              `[sparkpilot] [orchestrator] stored the event log of ${appId} (job "${r.job}" of run ${r.runId}) but could not analyze it or recommend settings: ${(err as Error).message}`,
              { cause: err },
            ),
          );
        }
      }
      this.emit('job:collected', {
        jobRun: r,
        appId,
        attemptId,
        ...(recommendation ? { recommendation } : {}),
      });
    } catch (err) {
      const message = `could not collect the event log of ${appId} (job "${r.job}" of run ${r.runId}): ${(err as Error).message}`;
      await this.#store.runs
        .updateJobRun(r.id, { data: { eventLog: { error: message } } }, this.#clock.now())
        .catch(() => {});
      throw new OrchestratorError('SPARKPILOT_ORCHESTRATOR_STATE', `[sparkpilot] [orchestrator] ${message}`, {
        cause: err,
      });
    }
  }

  async #tune(r: JobRunRecord, appId: string, attemptId: string): Promise<Recommendation> {
    await this.#tuner!.analyze(appId, attemptId || undefined);
    const job = this.#pipelines.get(r.pipeline)?.jobs.get(r.job);
    const declared = job
      ? job.resources.mode === 'auto'
        ? job.resources.fallback
        : job.resources
      : undefined;
    return this.#tuner!.recommend(appNameOf(r.pipeline, r.job), declared ? { declared } : {});
  }

  // ---- public operations ----

  /** Create (or find) a manual run of a pipeline over an interval (default: the latest that has ended). */
  async trigger(pipeline: string, interval?: DataInterval): Promise<RunRecord> {
    const { def } = this.#pipeline(pipeline);
    const i =
      interval ??
      intervalEndingAtOrBefore(def.schedule, def.timezone, new Date(this.#clock.now()), { pipeline });
    const run = await this.#work(() => this.#createRun(pipeline, i, { trigger: 'manual' }));
    void this.#pump();
    return run;
  }

  /**
   * Create runs for every interval of `pipeline` in `[from, to]` that has none, started at most
   * `concurrency` at a time, oldest (or newest) first. Returns every run of the range (existing ones too).
   */
  async backfill(pipeline: string, options: BackfillOptions): Promise<RunRecord[]> {
    const { def } = this.#pipeline(pipeline);
    const concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_CONFIG',
        `[sparkpilot] [pipeline ${pipeline}] backfill concurrency must be an integer >= 1, got ${concurrency}.`,
      );
    }
    const intervals = intervalsBetween(def.schedule, def.timezone, options.from, options.to, { pipeline });
    if (options.order === 'newest') intervals.reverse();
    const id = randomUUID();
    const out = await this.#work(async () => {
      const runs: RunRecord[] = [];
      for (const [seq, interval] of intervals.entries()) {
        runs.push(
          await this.#createRun(pipeline, interval, {
            trigger: 'backfill',
            backfill: { id, concurrency, seq },
          }),
        );
      }
      return runs;
    });
    this.#activationDirty = true;
    void this.#pump();
    return out;
  }

  /** Stop creating and starting runs of a pipeline (running runs finish). Stored: every process sees it. */
  async pause(pipeline: string): Promise<void> {
    this.#pipeline(pipeline);
    await this.#store.runs.setPaused(pipeline, true, this.#clock.now());
  }

  /** Resume a paused pipeline; missed intervals are caught up when `catchup` is on. */
  async resume(pipeline: string): Promise<void> {
    this.#pipeline(pipeline);
    await this.#store.runs.setPaused(pipeline, false, this.#clock.now());
    this.#nextFire.delete(pipeline);
    this.#activationDirty = true;
    void this.#pump();
  }

  async #latestOf(run: RunRecord): Promise<Map<string, JobRunRecord>> {
    const latest = new Map<string, JobRunRecord>();
    for (const r of await this.#store.runs.jobRuns(run.id))
      if (!latest.has(r.job) || r.try > latest.get(r.job)!.try) latest.set(r.job, r);
    return latest;
  }

  async #reopen(
    runId: string,
    job: string,
  ): Promise<{ run: RunRecord; p: PipelineState; latest: Map<string, JobRunRecord> }> {
    const run = await this.#store.runs.getRun(runId);
    if (!run)
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_UNKNOWN_RUN',
        `[sparkpilot] [orchestrator] unknown run "${runId}".`,
      );
    const p = this.#pipeline(run.pipeline);
    if (!p.jobs.has(job)) {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_STATE',
        `[sparkpilot] [pipeline ${run.pipeline}] has no job "${job}" (jobs: ${[...p.jobs.keys()].join(', ')}).`,
      );
    }
    const latest = await this.#latestOf(run);
    const cur = latest.get(job);
    if (cur && ACTIVE.includes(cur.status) && cur.status !== 'pending') {
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_STATE',
        `[sparkpilot] [pipeline ${run.pipeline}] job "${job}" of run ${runId} is ${cur.status}; wait for it to end before rerunning it or marking it.`,
      );
    }
    return { run, p, latest };
  }

  /**
   * Run a job of a run again (a new attempt), and with it every job downstream of it (default), whatever
   * their state. The run goes back to `running`.
   */
  async rerun(runId: string, job: string, options: { downstream?: boolean } = {}): Promise<void> {
    await this.#work(async () => {
      const { run, p, latest } = await this.#reopen(runId, job);
      const now = this.#clock.now();
      const jobs = [job, ...(options.downstream === false ? [] : downstreamOf(p.def, job))];
      for (const j of jobs) {
        const cur = latest.get(j);
        if (cur && ACTIVE.includes(cur.status) && cur.status !== 'pending') {
          throw new OrchestratorError(
            'SPARKPILOT_ORCHESTRATOR_STATE',
            `[sparkpilot] [pipeline ${run.pipeline}] job "${j}" of run ${runId} is ${cur.status}; wait for it to end.`,
          );
        }
      }
      await this.#store.runs.setRunStatus(run.id, 'running', ['succeeded', 'failed', 'running'], now);
      const running = { ...run, status: 'running' as const };
      this.#runCache.set(run.id, running);
      const rows = jobs.map((j) =>
        this.#newJobRun(running, p.jobs.get(j)!, (latest.get(j)?.try ?? 0) + 1, 'pending', now),
      );
      await this.#store.runs.insertJobRuns(rows);
      await this.#reconcile(running, jobs);
    });
    void this.#pump();
  }

  /** Record a job of a run as succeeded without running it; its downstream jobs then run. */
  async markSucceeded(runId: string, job: string): Promise<void> {
    await this.#work(async () => {
      const { run, p, latest } = await this.#reopen(runId, job);
      const now = this.#clock.now();
      await this.#store.runs.setRunStatus(run.id, 'running', ['succeeded', 'failed', 'running'], now);
      const running = { ...run, status: 'running' as const };
      this.#runCache.set(run.id, running);
      const row = this.#newJobRun(
        running,
        p.jobs.get(job)!,
        (latest.get(job)?.try ?? 0) + 1,
        'succeeded',
        now,
        {
          marked: true,
          finishedAt: now,
          message: 'marked succeeded',
        },
      );
      await this.#store.runs.insertJobRuns([row]);
      this.emit('job:succeeded', { jobRun: row });
      await this.#reconcile(running, downstreamOf(p.def, job));
      await this.#checkRunDone(running);
    });
    void this.#pump();
  }

  /** Resolves with the run once it has succeeded or failed. */
  async waitForRun(runId: string, options: { signal?: AbortSignal } = {}): Promise<RunRecord> {
    const run = await this.#store.runs.getRun(runId);
    if (!run)
      throw new OrchestratorError(
        'SPARKPILOT_ORCHESTRATOR_UNKNOWN_RUN',
        `[sparkpilot] [orchestrator] unknown run "${runId}".`,
      );
    if (run.status === 'succeeded' || run.status === 'failed') return run;
    return new Promise<RunRecord>((resolve, reject) => {
      const list = this.#runWaiters.get(runId) ?? [];
      const poll = setInterval(
        () => {
          this.#store.runs
            .getRun(runId)
            .then((r) => {
              if (r && (r.status === 'succeeded' || r.status === 'failed')) done(r);
            })
            .catch(() => {});
        },
        Math.max(50, Math.min(this.#o.pollMs, 1000)),
      );
      poll.unref?.();
      const onAbort = () => {
        clearInterval(poll);
        reject(options.signal?.reason);
      };
      const done = (r: RunRecord) => {
        clearInterval(poll);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      list.push(done);
      this.#runWaiters.set(runId, list);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A run as stored. */
  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#store.runs.getRun(runId);
  }

  /** Every attempt of a run's jobs, by job then try. */
  jobRuns(runId: string): Promise<JobRunRecord[]> {
    return this.#store.runs.jobRuns(runId);
  }

  /** Runs of a pipeline, newest interval first. */
  runs(pipeline: string, options: { status?: RunStatus[]; limit?: number } = {}): Promise<RunRecord[]> {
    return this.#store.runs.listRuns({ pipeline, ...options });
  }
}

/**
 * An orchestrator over a store, with submission adapters and pipelines.
 *
 * @example
 * ```ts
 * const store = await openStore('sqlite:./sparkpilot.db');
 * const orchestrator = createOrchestrator({
 *   store,
 *   adapters: { default: sparkSubmitAdapter({ master: 'yarn', deployMode: 'cluster' }) },
 *   pipelines: [nightly],
 *   concurrency: { global: 8, pools: { heavy: 2 } },
 *   collect: { eventLogDir: '/var/log/spark-events' },
 *   tuner: createTuner(store),
 * });
 * orchestrator.on('job:failed', ({ jobRun, error, willRetry }) => console.warn(jobRun.job, error, willRetry));
 * await orchestrator.start();
 * ```
 */
export function createOrchestrator(options: OrchestratorOptionsInput): Orchestrator {
  return new Orchestrator(options);
}
