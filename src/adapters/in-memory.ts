/**
 * The in-memory submission adapter: runs nothing, and plays a script per job name instead (how long a run
 * takes, whether it fails), on the real clock or on a {@link ManualClock}. For testing orchestration code
 * without a cluster; it passes the adapter conformance suite.
 * @module
 */
import { z } from 'zod';
import { throwIfAborted } from '../errors.js';
import { defineFactory } from '../registry.js';
import {
  type AdapterCallOptions,
  type AdapterCapabilities,
  isTerminal,
  type Submission,
  type SubmissionAdapter,
  SubmissionError,
  type SubmissionRequest,
  type SubmissionState,
  type SubmissionStatus,
} from './adapter.js';
import { type Clock, realClock } from './clock.js';

/** What a simulated run of one job does. */
export const inMemoryJobScriptSchema = z.object({
  /** How long a run takes, ms, from submission to its terminal state. */
  durationMs: z.number().nonnegative(),
  /** `true`: every attempt fails; a number N: the first N attempts of the job name fail, later ones succeed. */
  fail: z.union([z.boolean(), z.number().int().nonnegative()]).optional(),
  /** The status message of a failed run. */
  failMessage: z.string().optional(),
  /** Prefix of the Spark application ids handed out (default `app-in-memory`). */
  appIdPrefix: z.string().min(1).optional(),
});

/** A script of one job: see {@link inMemoryJobScriptSchema}. */
export type InMemoryJobScript = z.input<typeof inMemoryJobScriptSchema>;

const clockSchema = z.custom<Clock>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Clock).now === 'function' &&
    typeof (v as Clock).setTimeout === 'function' &&
    typeof (v as Clock).clearTimeout === 'function',
  { message: 'expected an object with now(), setTimeout(fn, ms) and clearTimeout(handle)' },
);

/** Options of {@link inMemoryAdapter}. */
export const inMemoryAdapterOptionsSchema = z.object({
  /** Scripts by job name (`request.name`). */
  jobs: z.record(z.string(), inMemoryJobScriptSchema).default({}),
  /** The script of a job not named in `jobs` (default: succeeds after 10 ms). */
  default: inMemoryJobScriptSchema.default({ durationMs: 10 }),
  /** The clock runs are timed on (default: the real clock). Pass a {@link ManualClock} to move time by hand. */
  clock: clockSchema.optional(),
});

/** Options of {@link inMemoryAdapter}, as passed. */
export type InMemoryAdapterOptions = z.input<typeof inMemoryAdapterOptionsSchema>;

/** One submission the in-memory adapter received, kept for assertions. Updated in place as the run moves. */
export interface InMemorySubmissionRecord {
  /** The job name (`request.name`). */
  name: string;
  submissionKey: string;
  submissionId: string;
  /** 1 for the first submission of this job name, 2 for the next, ... (a repeated key does not count). */
  attempt: number;
  /** The request as submitted. */
  request: SubmissionRequest;
  /** The clock's time at submission. */
  submittedAt: number;
  /** The clock's time the run reached a terminal state; undefined while it runs. */
  finishedAt?: number;
  /** The current (once terminal, final) state. */
  state: SubmissionState;
  /** The Spark application id, once the run started. */
  appId?: string;
}

/** The in-memory adapter: every capability but sessions, plus the history of what it was asked. */
export interface InMemoryAdapter extends SubmissionAdapter {
  readonly name: 'in-memory';
  cancel(submissionId: string, options?: AdapterCallOptions): Promise<void>;
  logs(submissionId: string, options?: AdapterCallOptions): Promise<string>;
  findBySubmissionKey(submissionKey: string, options?: AdapterCallOptions): Promise<Submission | undefined>;
  wait(submissionId: string, options?: AdapterCallOptions): Promise<SubmissionStatus>;
  /** Every submission received (repeated keys once), in order. */
  readonly history: readonly InMemorySubmissionRecord[];
  /** Stop every run's timers (runs keep their current state). */
  close(): Promise<void>;
}

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  cancel: true,
  logs: true,
  sessions: false,
  findBySubmissionKey: true,
});

interface Run {
  seq: number;
  record: InMemorySubmissionRecord;
  timer?: unknown;
  message?: string;
  exitCode?: number;
  log: string[];
  waiters: (() => void)[];
}

/**
 * Builds an in-memory adapter. Jobs are told apart by `request.name`; each plays its script from `jobs`, or
 * the `default` one. A run is `SUBMITTED`, becomes `RUNNING` (with an `appId`) at once on the clock (on the
 * next timer tick), and ends `durationMs` after submission in `SUCCEEDED` or, as scripted, `FAILED`.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const adapter = inMemoryAdapter({ clock, jobs: { 'nightly-etl': { durationMs: 60_000, fail: 2 } } });
 * const first = await adapter.submit({ submissionKey: 'k1', name: 'nightly-etl', application: { file: 'etl.py' }, args: [], properties: {} });
 * clock.advance(60_000);
 * (await adapter.status(first.submissionId)).state; // 'FAILED' (attempts 1 and 2 fail, 3 succeeds)
 * adapter.history; // [{ name: 'nightly-etl', submissionKey: 'k1', attempt: 1, state: 'FAILED', ... }]
 * ```
 */
export const inMemoryAdapter = defineFactory(
  'in-memory',
  inMemoryAdapterOptionsSchema,
  (options): InMemoryAdapter => {
    const clock = options.clock ?? realClock;
    const runs = new Map<string, Run>();
    const byKey = new Map<string, Run>();
    const attempts = new Map<string, number>();
    const history: InMemorySubmissionRecord[] = [];
    let seq = 0;

    const scriptOf = (name: string) => options.jobs[name] ?? options.default;
    const say = (run: Run, line: string) => run.log.push(`${new Date(clock.now()).toISOString()} ${line}`);
    const submissionOf = (run: Run): Submission => ({
      submissionId: run.record.submissionId,
      submissionKey: run.record.submissionKey,
      ...(run.record.appId !== undefined ? { appId: run.record.appId } : {}),
    });
    const find = (submissionId: string): Run => {
      const run = runs.get(submissionId);
      if (!run) {
        throw new SubmissionError(
          'SPARKPILOT_SUBMIT_UNKNOWN_ID',
          `submission "${submissionId}" is unknown: this adapter instance never returned it. Check that the id comes from this adapter's submit().`,
          { adapter: 'in-memory', submissionId },
        );
      }
      return run;
    };
    const finish = (run: Run, state: 'SUCCEEDED' | 'FAILED' | 'KILLED') => {
      if (run.timer !== undefined) clock.clearTimeout(run.timer);
      run.timer = undefined;
      run.record.state = state;
      run.record.finishedAt = clock.now();
      const waiters = run.waiters.splice(0);
      for (const w of waiters) w();
    };

    const start = (run: Run, script: z.output<typeof inMemoryJobScriptSchema>) => {
      const r = run.record;
      r.appId = `${script.appIdPrefix ?? 'app-in-memory'}-${String(run.seq).padStart(4, '0')}`;
      r.state = 'RUNNING';
      say(
        run,
        `INFO Submitted application ${r.appId} (submission ${r.submissionId}, key ${r.submissionKey})`,
      );
      const failing = script.fail === true || (typeof script.fail === 'number' && r.attempt <= script.fail);
      run.timer = clock.setTimeout(() => {
        run.timer = undefined;
        if (failing) {
          run.exitCode = 1;
          run.message =
            script.failMessage ??
            `Job "${r.name}" failed as scripted (attempt ${r.attempt}${typeof script.fail === 'number' ? ` of the first ${script.fail} that fail` : ''}).`;
          say(run, `ERROR Application ${r.appId} failed: ${run.message}`);
          finish(run, 'FAILED');
        } else {
          run.exitCode = 0;
          say(run, `INFO Application ${r.appId} finished with state SUCCEEDED`);
          finish(run, 'SUCCEEDED');
        }
      }, script.durationMs);
    };

    return {
      name: 'in-memory',
      capabilities: CAPABILITIES,
      history,

      async submit(request, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const existing = byKey.get(request.submissionKey);
        if (existing) return submissionOf(existing);
        const attempt = (attempts.get(request.name) ?? 0) + 1;
        attempts.set(request.name, attempt);
        seq++;
        const record: InMemorySubmissionRecord = {
          name: request.name,
          submissionKey: request.submissionKey,
          submissionId: `in-memory-${seq}`,
          attempt,
          request: structuredClone(request),
          submittedAt: clock.now(),
          state: 'SUBMITTED',
        };
        const run: Run = { seq, record, log: [], waiters: [] };
        history.push(record);
        runs.set(record.submissionId, run);
        byKey.set(record.submissionKey, run);
        say(run, `INFO Job "${request.name}" attempt ${attempt} submitted as ${record.submissionId}`);
        const script = scriptOf(request.name);
        // Start on the next tick, so `SUBMITTED` is observable; the run still ends `durationMs` after submission.
        const startedAt = clock.now();
        run.timer = clock.setTimeout(() => {
          run.timer = undefined;
          start(run, { ...script, durationMs: Math.max(0, script.durationMs - (clock.now() - startedAt)) });
        }, 0);
        return submissionOf(run);
      },

      async status(submissionId, callOptions = {}): Promise<SubmissionStatus> {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        const r = run.record;
        return {
          state: r.state,
          ...(r.appId !== undefined ? { appId: r.appId } : {}),
          ...(run.message !== undefined ? { message: run.message } : {}),
          ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
        };
      },

      async cancel(submissionId, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        if (isTerminal(run.record.state)) return;
        run.message = 'Killed by request.';
        say(run, `WARN Submission ${submissionId} killed by request`);
        finish(run, 'KILLED');
      },

      async wait(submissionId, callOptions = {}): Promise<SubmissionStatus> {
        throwIfAborted(callOptions.signal);
        const run = find(submissionId);
        if (!isTerminal(run.record.state)) {
          const signal = callOptions.signal;
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => {
              const i = run.waiters.indexOf(done);
              if (i >= 0) run.waiters.splice(i, 1);
              reject(signal?.reason);
            };
            const done = () => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            };
            run.waiters.push(done);
            signal?.addEventListener('abort', onAbort, { once: true });
          });
        }
        return this.status(submissionId, callOptions.signal ? {} : callOptions);
      },

      async logs(submissionId, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        return `${find(submissionId).log.join('\n')}\n`;
      },

      async findBySubmissionKey(submissionKey, callOptions = {}) {
        throwIfAborted(callOptions.signal);
        const run = byKey.get(submissionKey);
        return run ? submissionOf(run) : undefined;
      },

      async close() {
        for (const run of runs.values()) {
          if (run.timer !== undefined) clock.clearTimeout(run.timer);
          run.timer = undefined;
        }
      },
    };
  },
);
