/**
 * Run pipelines in-process for tests: a real orchestrator over an in-memory SQLite store, the in-memory
 * adapter with scripted durations and failures, and a {@link ManualClock} that only moves when the test says
 * so. Between clock steps the kit waits until the orchestrator is idle, so what ran, in which order and for
 * which intervals is deterministic.
 * @module
 */
import { ManualClock } from '../adapters/clock.js';
import { type InMemoryAdapter, type InMemoryJobScript, inMemoryAdapter } from '../adapters/in-memory.js';
import {
  createOrchestrator,
  type Orchestrator,
  type OrchestratorOptionsInput,
} from '../orchestrate/orchestrator.js';
import type { PipelineDefinition } from '../orchestrate/pipeline.js';
import { openStore, type Store } from '../store/knex/connect.js';
import type { RunRecord } from '../store/run-repository.js';

/** Options of {@link createPipelineTestKit}. */
export interface PipelineTestKitOptions
  extends Omit<OrchestratorOptionsInput, 'store' | 'adapters' | 'clock' | 'pipelines'> {
  pipelines: readonly PipelineDefinition[];
  /** Where the clock starts (default 2025-01-01T00:00:00Z). */
  start?: Date | string;
  /**
   * Scripts of jobs (durations, failures), by `<pipeline>.<job>` or by job name alone (every pipeline's job of
   * that name).
   */
  jobs?: Record<string, InMemoryJobScript>;
  /** The script of every other job (default: succeeds after 1 minute). */
  default?: InMemoryJobScript;
  /** A store of your own (default: a fresh in-memory SQLite store, closed by `close()`). */
  store?: Store;
}

/** One job submission the kit saw. */
export interface KitSubmission {
  pipeline: string;
  job: string;
  runId: string;
  /** The run's data interval, as handed to the job. */
  interval: { start: string; end: string };
  /** 1, 2, ... per (run, job). */
  try: number;
  /** Clock times (ms). */
  submittedAt: number;
  finishedAt?: number;
  state: string;
  /** The Spark properties submitted. */
  properties: Record<string, string>;
  args: string[];
}

/** A pipeline test kit: see {@link createPipelineTestKit}. */
export interface PipelineTestKit {
  readonly clock: ManualClock;
  readonly adapter: InMemoryAdapter;
  readonly orchestrator: Orchestrator;
  readonly store: Store;
  /** Errors the orchestrator reported in the background (its `error` event); a passing test expects none. */
  readonly errors: Error[];
  /** Move the clock forward by `ms`, letting the orchestrator react at every timer on the way. */
  advance(ms: number): Promise<void>;
  /** Move the clock to an instant. */
  advanceTo(t: Date | string): Promise<void>;
  /** Move the clock until the run has succeeded or failed (at most `limitMs`, default 30 days). */
  runToEnd(runId: string, limitMs?: number): Promise<RunRecord>;
  /** Every submission so far, in submission order. */
  submissions(): KitSubmission[];
  /** Names of the jobs submitted for a run, in submission order. */
  jobOrder(runId: string): string[];
  /** Runs of a pipeline, oldest interval first. */
  runs(pipeline: string): Promise<RunRecord[]>;
  close(): Promise<void>;
}

/**
 * Build a kit and start its orchestrator.
 *
 * @example
 * ```ts
 * const kit = await createPipelineTestKit({
 *   pipelines: [nightly],
 *   start: '2025-06-01T00:00:00Z',
 *   jobs: { extract: { durationMs: 60_000 }, load: { durationMs: 30_000, fail: 1 } },
 * });
 * await kit.advance(24 * 3_600_000 + 5 * 60_000);
 * const [run] = await kit.runs('nightly');
 * expect(run.status).toBe('succeeded');
 * expect(kit.jobOrder(run.id)).toEqual(['extract', 'load', 'load']); // load failed once, then retried
 * await kit.close();
 * ```
 */
export async function createPipelineTestKit(options: PipelineTestKitOptions): Promise<PipelineTestKit> {
  const { pipelines, start, jobs = {}, default: fallback, store: given, ...rest } = options;
  const clock = new ManualClock(new Date(start ?? '2025-01-01T00:00:00Z').getTime());
  const scripts: Record<string, InMemoryJobScript> = {};
  for (const p of pipelines) {
    for (const j of p.jobs) {
      const script = jobs[`${p.name}.${j.name}`] ?? jobs[j.name];
      if (script) scripts[`${p.name}.${j.name}`] = script;
    }
  }
  const adapter = inMemoryAdapter({ clock, jobs: scripts, default: fallback ?? { durationMs: 60_000 } });
  const store = given ?? (await openStore('sqlite::memory:'));
  const adapters: Record<string, InMemoryAdapter> = { default: adapter };
  for (const p of pipelines) for (const j of p.jobs) if (j.adapter) adapters[j.adapter] = adapter;
  const orchestrator = createOrchestrator({
    pollMs: 3_600_000,
    leaseMs: 3_600_000,
    ...rest,
    store,
    adapters,
    clock,
    pipelines,
  });
  const errors: Error[] = [];
  orchestrator.on('error', (err) => errors.push(err));
  await orchestrator.start();
  await orchestrator.idle();

  const step = async (target: number) => {
    await orchestrator.idle();
    for (;;) {
      const next = clock.nextDueAt();
      if (next === undefined || next > target) break;
      clock.advance(Math.max(0, next - clock.now()));
      await orchestrator.idle();
    }
    if (target > clock.now()) clock.advance(target - clock.now());
    await orchestrator.idle();
  };

  const submissions = (): KitSubmission[] =>
    adapter.history.map((h) => {
      const p = h.request.properties;
      return {
        pipeline: p['spark.sparkpilot.pipeline'] ?? '',
        job: p['spark.sparkpilot.job'] ?? h.name,
        runId: p['spark.sparkpilot.run.id'] ?? '',
        interval: {
          start: p['spark.sparkpilot.interval.start'] ?? '',
          end: p['spark.sparkpilot.interval.end'] ?? '',
        },
        try: Number(p['spark.sparkpilot.try'] ?? 1),
        submittedAt: h.submittedAt,
        ...(h.finishedAt !== undefined ? { finishedAt: h.finishedAt } : {}),
        state: h.state,
        properties: { ...p },
        args: [...h.request.args],
      };
    });

  return {
    clock,
    adapter,
    orchestrator,
    store,
    errors,
    advance: (ms) => step(clock.now() + ms),
    advanceTo: (t) => step(new Date(t).getTime()),
    async runToEnd(runId, limitMs = 30 * 86_400_000) {
      const until = clock.now() + limitMs;
      for (;;) {
        await orchestrator.idle();
        const run = await store.runs.getRun(runId);
        if (run && (run.status === 'succeeded' || run.status === 'failed')) return run;
        const next = clock.nextDueAt();
        if (next === undefined || next > until) {
          throw new Error(
            `[sparkpilot] [pipeline-test-kit] run ${runId} is ${run?.status ?? 'unknown'} and nothing more is due before ${new Date(until).toISOString()}.`,
          );
        }
        clock.advance(Math.max(0, next - clock.now()));
      }
    },
    submissions,
    jobOrder: (runId) =>
      submissions()
        .filter((s) => s.runId === runId)
        .map((s) => s.job),
    runs: async (pipeline) => (await store.runs.listRuns({ pipeline, limit: 100_000 })).reverse(),
    async close() {
      await orchestrator.stop();
      await adapter.close();
      if (!given) await store.close();
    },
  };
}
