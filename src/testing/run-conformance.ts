/**
 * A conformance suite for {@link RunRepository}, the orchestrator's durable state. The Knex repository passes
 * it on SQLite, PostgreSQL and MariaDB; a host that keeps runs elsewhere runs it on its own implementation.
 * The last test drives a whole orchestrator over the repository's store.
 * @module
 */
import { inMemoryAdapter } from '../adapters/in-memory.js';
import { createOrchestrator } from '../orchestrate/orchestrator.js';
import { definePipeline } from '../orchestrate/pipeline.js';
import type { Store } from '../store/knex/connect.js';
import type { JobRunRecord, RunRecord, RunRepository } from '../store/run-repository.js';
import { resolveTestApi, type TestApi } from './collector-conformance.js';

/** What the suite needs. */
export interface RunRepositoryConformanceOptions {
  /** The runner's `describe`, `it` and `expect`; defaults to the runner's globals. */
  test?: TestApi;
  /**
   * A fresh, empty repository for each test, and how to dispose of it. Give `store` too (a `Store` whose
   * `runs` is the repository) to run the end-to-end orchestrator test.
   */
  create: () => Promise<{ runs: RunRepository; store?: Store; dispose?: () => Promise<void> }>;
  /** Per-test timeout, ms (default 60 s). */
  timeout?: number;
}

const T0 = Date.parse('2025-06-01T00:00:00Z');

const run = (pipeline: string, day: number, extra: Partial<RunRecord> = {}): RunRecord => ({
  id: `${pipeline}@${day}`,
  pipeline,
  intervalStart: T0 + day * 86_400_000,
  intervalEnd: T0 + (day + 1) * 86_400_000,
  status: 'queued',
  createdAt: T0,
  updatedAt: T0,
  data: { trigger: 'schedule' },
  ...extra,
});

const attempt = (r: RunRecord, job: string, extra: Partial<JobRunRecord> = {}): JobRunRecord => ({
  id: `${r.id}/${job}/${extra.try ?? 1}`,
  runId: r.id,
  pipeline: r.pipeline,
  job,
  try: 1,
  status: 'queued',
  submissionKey: `${r.id}/${job}/${extra.try ?? 1}`,
  notBefore: T0,
  priority: 0,
  createdAt: T0,
  updatedAt: T0,
  data: {},
  ...extra,
});

/**
 * Declares the run repository conformance tests.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { describeRunRepositoryConformance } from 'sparkpilot/testing';
 * describeRunRepositoryConformance('my store', {
 *   test: { describe, it, expect },
 *   create: async () => ({ runs: new MyRunRepository(), dispose: async () => {} }),
 * });
 * ```
 */
export function describeRunRepositoryConformance(
  name: string,
  options: RunRepositoryConformanceOptions,
): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  const timeout = options.timeout ?? 60_000;
  const withRepo = (fn: (runs: RunRepository, store?: Store) => Promise<void>) => async () => {
    const { runs, store, dispose } = await options.create();
    try {
      await fn(runs, store);
    } finally {
      await dispose?.();
    }
  };

  describe(`run repository conformance: ${name}`, () => {
    it(
      'creates a run once per pipeline and interval, and finds, lists and moves it',
      withRepo(async (runs) => {
        const r = run('etl', 0);
        expect(await runs.createRun(r)).toBe(true);
        expect(await runs.createRun({ ...r, createdAt: T0 + 1 })).toBe(false);
        expect(await runs.getRun(r.id)).toEqual(r);
        expect(await runs.findRun('etl', r.intervalStart, r.intervalEnd)).toEqual(r);
        await runs.createRun(run('etl', 1));
        await runs.createRun(
          run('etl', 2, { data: { trigger: 'backfill', backfill: { id: 'b', concurrency: 1, seq: 0 } } }),
        );
        await runs.createRun(run('other', 0));
        expect((await runs.listRuns({ pipeline: 'etl' })).map((x) => x.id)).toEqual([
          'etl@2',
          'etl@1',
          'etl@0',
        ]);
        expect(await runs.latestScheduledEnd('etl')).toBe(T0 + 2 * 86_400_000);
        expect(await runs.latestScheduledEnd('nothing')).toBeUndefined();
        expect(await runs.setRunStatus(r.id, 'running', ['queued'], T0 + 5, { startedAt: T0 + 5 })).toBe(
          true,
        );
        expect(await runs.setRunStatus(r.id, 'running', ['queued'], T0 + 6)).toBe(false);
        const moved = await runs.getRun(r.id);
        expect(moved?.status).toBe('running');
        expect(moved?.data).toEqual({ trigger: 'schedule', startedAt: T0 + 5 });
        expect(
          (
            await runs.listRuns({ pipeline: 'etl', status: ['running'], endAfter: T0, startBefore: T0 + 1 })
          ).map((x) => x.id),
        ).toEqual([r.id]);
      }),
      timeout,
    );

    it(
      'inserts attempts once per (run, job, try), returning only the new ones',
      withRepo(async (runs) => {
        const r = run('etl', 0);
        await runs.createRun(r);
        const a = attempt(r, 'a');
        const b = attempt(r, 'b', { data: { message: 'x' }, pool: 'heavy' });
        expect((await runs.insertJobRuns([a, b])).sort()).toEqual([a.id, b.id].sort());
        expect(await runs.insertJobRuns([{ ...a, createdAt: T0 + 1 }, attempt(r, 'c')])).toEqual([
          `${r.id}/c/1`,
        ]);
        expect(await runs.getJobRun(b.id)).toEqual(b);
        expect((await runs.jobRuns(r.id)).map((x) => x.job)).toEqual(['a', 'b', 'c']);
        expect((await runs.jobRuns(r.id, ['b'])).map((x) => x.id)).toEqual([b.id]);
        expect(await runs.countActive(r.id)).toBe(3);
      }),
      timeout,
    );

    it(
      'claims due attempts by priority, never the same one twice, and takes over expired leases',
      withRepo(async (runs) => {
        const r = run('etl', 0);
        await runs.createRun(r);
        await runs.insertJobRuns([
          attempt(r, 'low', { priority: 1 }),
          attempt(r, 'high', { priority: 9 }),
          attempt(r, 'later', { priority: 99, notBefore: T0 + 60_000 }),
          ...Array.from({ length: 20 }, (_, i) => attempt(r, `j${String(i).padStart(2, '0')}`)),
        ]);
        const first = await runs.claim({ owner: 'p1', now: T0, leaseMs: 1000, limit: 2, pipelines: ['etl'] });
        expect(first.map((x) => [x.job, x.status, x.leaseOwner, x.takenOver])).toEqual([
          ['high', 'submitting', 'p1', false],
          ['low', 'submitting', 'p1', false],
        ]);
        const [c1, c2] = await Promise.all([
          runs.claim({ owner: 'p2', now: T0, leaseMs: 1000, limit: 15, pipelines: ['etl'] }),
          runs.claim({ owner: 'p3', now: T0, leaseMs: 1000, limit: 15, pipelines: ['etl'] }),
        ]);
        // Concurrent claims never share an attempt. (A claimer may get fewer than it could: InnoDB, for one,
        // locks every row its scan reads, so a concurrent SKIP LOCKED claim can come back empty.)
        const rest = await runs.claim({ owner: 'p6', now: T0, leaseMs: 1000, limit: 30, pipelines: ['etl'] });
        const ids = [...c1!, ...c2!, ...rest].map((x) => x.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(20);
        expect(ids).not.toContain(`${r.id}/later/1`);
        expect(
          await runs.claim({ owner: 'p4', now: T0, leaseMs: 1000, limit: 5, pipelines: ['other'] }),
        ).toEqual([]);
        expect(await runs.nextDue(['etl'])).toBe(T0 + 60_000);
        // p1 renews its leases; the others' expire and p5 takes those over.
        expect(
          await runs.heartbeat(
            'p1',
            first.map((x) => x.id),
            T0 + 5000,
          ),
        ).toBe(2);
        const taken = await runs.claim({
          owner: 'p5',
          now: T0 + 2000,
          leaseMs: 1000,
          limit: 100,
          pipelines: ['etl'],
        });
        expect(taken.length).toBe(20);
        expect(taken.every((x) => x.takenOver && x.leaseOwner === 'p5')).toBe(true);
        // A restarted p1 takes its own attempts back at once.
        const own = await runs.claim({
          owner: 'p1',
          now: T0 + 2000,
          leaseMs: 1000,
          limit: 100,
          pipelines: ['etl'],
          reclaimOwn: true,
        });
        expect(own.map((x) => x.job).sort()).toEqual(['high', 'low']);
      }),
      timeout,
    );

    it(
      'moves attempts only under the expected owner and state, one by one or many at once',
      withRepo(async (runs) => {
        const r = run('etl', 0);
        await runs.createRun(r);
        await runs.insertJobRuns([attempt(r, 'a'), attempt(r, 'b'), attempt(r, 'c')]);
        await runs.claim({ owner: 'p1', now: T0, leaseMs: 1000, limit: 2, pipelines: ['etl'] });
        const moved = await runs.transitionJobRuns(
          [
            {
              id: `${r.id}/a/1`,
              status: 'running',
              submissionId: 'sub-a',
              leaseOwner: 'p1',
              leaseExpiresAt: T0 + 9000,
              data: { submittedAt: T0 + 1 },
            },
            {
              id: `${r.id}/b/1`,
              status: 'succeeded',
              leaseOwner: null,
              leaseExpiresAt: null,
              data: { finishedAt: T0 + 1, appId: 'app-1' },
            },
            { id: `${r.id}/c/1`, status: 'succeeded', leaseOwner: null, leaseExpiresAt: null, data: {} },
          ],
          T0 + 1,
          { leaseOwner: 'p1', status: ['submitting', 'running'] },
        );
        expect(moved).toEqual([true, true, false]);
        const a = await runs.getJobRun(`${r.id}/a/1`);
        expect([a?.status, a?.submissionId, a?.leaseExpiresAt, a?.data]).toEqual([
          'running',
          'sub-a',
          T0 + 9000,
          { submittedAt: T0 + 1 },
        ]);
        const b = await runs.getJobRun(`${r.id}/b/1`);
        expect([b?.status, b?.leaseOwner, b?.leaseExpiresAt, b?.data.appId]).toEqual([
          'succeeded',
          undefined,
          undefined,
          'app-1',
        ]);
        expect((await runs.getJobRun(`${r.id}/c/1`))?.status).toBe('queued');
        expect(
          await runs.updateJobRun(`${r.id}/a/1`, { status: 'failed' }, T0 + 2, { leaseOwner: 'p2' }),
        ).toBe(false);
        expect(
          await runs.updateJobRun(`${r.id}/a/1`, { data: { message: 'm' } }, T0 + 2, { leaseOwner: 'p1' }),
        ).toBe(true);
        expect((await runs.getJobRun(`${r.id}/a/1`))?.data).toEqual({ submittedAt: T0 + 1, message: 'm' });
        expect(await runs.countActive(r.id)).toBe(2);
      }),
      timeout,
    );

    it(
      'keeps pause flags, and runs code under a pipeline lock',
      withRepo(async (runs) => {
        expect(await runs.isPaused('etl')).toBe(false);
        await runs.setPaused('etl', true, T0);
        expect(await runs.isPaused('etl')).toBe(true);
        await runs.setPaused('etl', false, T0 + 1);
        expect(await runs.isPaused('etl')).toBe(false);
        const got = await runs.withPipelineLock('etl', T0, async (locked) => {
          await locked.createRun(run('etl', 3));
          return (await locked.listRuns({ pipeline: 'etl' })).length;
        });
        expect(got).toBe(1);
        expect((await runs.getRun('etl@3'))?.pipeline).toBe('etl');
      }),
      timeout,
    );

    it(
      'holds a whole orchestrated run: a DAG with a retry and a skipped branch',
      withRepo(async (_runs, store) => {
        if (!store) return;
        const res = { executors: 1, coresPerExecutor: 1, executorMemory: '1g' };
        const def = definePipeline({
          name: 'conformance',
          schedule: 'daily',
          jobs: [
            { name: 'a', application: { file: 'a.py' }, resources: res },
            {
              name: 'b',
              application: { file: 'b.py' },
              resources: res,
              dependsOn: ['a'],
              retries: { attempts: 1, backoff: { initialMs: 10 } },
            },
            { name: 'c', application: { file: 'c.py' }, resources: res, dependsOn: ['a'] },
            { name: 'd', application: { file: 'd.py' }, resources: res, dependsOn: ['c'] },
          ],
        });
        const adapter = inMemoryAdapter({
          default: { durationMs: 5 },
          jobs: {
            'conformance.b': { durationMs: 5, fail: 1 },
            'conformance.c': { durationMs: 5, fail: true },
          },
        });
        const orch = createOrchestrator({
          store,
          adapters: { default: adapter },
          pipelines: [def],
          schedule: false,
          pollMs: 50,
        });
        await orch.start();
        try {
          const r = await orch.trigger('conformance', {
            start: new Date(T0),
            end: new Date(T0 + 86_400_000),
          });
          const done = await orch.waitForRun(r.id);
          expect(done.status).toBe('failed');
          const rows = await store.runs.jobRuns(r.id);
          expect(rows.map((x) => [x.job, x.try, x.status])).toEqual([
            ['a', 1, 'succeeded'],
            ['b', 1, 'failed'],
            ['b', 2, 'succeeded'],
            ['c', 1, 'failed'],
            ['d', 1, 'skipped'],
          ]);
          expect(new Set(rows.map((x) => x.submissionKey)).size).toBe(5);
        } finally {
          await orch.stop();
          await adapter.close();
        }
      }),
      timeout,
    );
  });
}
