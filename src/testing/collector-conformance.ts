/**
 * A conformance suite for {@link Collector} implementations, run with vitest. Every built-in collector passes
 * it; extension authors run it on their own.
 * @module
 */
import type { Collector, CollectProgress } from '../collect/collector.js';
import { SparkpilotError } from '../errors.js';
import type { ApplicationAttemptModel } from '../model/attempt.js';

/**
 * The test functions the suites declare their tests with: vitest's (or jest's) `describe`, `it` and `expect`.
 * Passed in, so the kit works from both the ESM and the CJS build and with either runner.
 */
export interface TestApi {
  describe: (name: string, body: () => void) => void;
  it: ((name: string, body: () => Promise<void> | void, timeout?: number) => void) & {
    skip: (name: string, body: () => Promise<void> | void) => void;
  };
  // biome-ignore lint/suspicious/noExplicitAny: the runner's own `expect`
  expect: (actual: unknown) => any;
}

/** The runner's test functions: `api` when given, else the runner's globals (vitest `globals: true`, jest). */
export function resolveTestApi(api?: TestApi): TestApi {
  if (api) return api;
  const g = globalThis as Partial<TestApi>;
  if (typeof g.describe === 'function' && typeof g.it === 'function' && typeof g.expect === 'function') {
    return g as TestApi;
  }
  throw new Error(
    "[sparkpilot] [testing] no test functions: pass { test: { describe, it, expect } } (import them from 'vitest'), or enable vitest's globals.",
  );
}

/** What the suite needs to exercise a collector. */
export interface CollectorConformanceOptions<Source> {
  /** The runner's `describe`, `it` and `expect`; defaults to the runner's globals. */
  test?: TestApi;
  /** Builds a fresh collector for each test. */
  create: () => Collector<Source> | Promise<Collector<Source>>;
  /** A source holding at least one complete application attempt. */
  validSource: Source;
  /** The application ids `validSource` holds, when known. */
  expectedAppIds?: string[];
  /** A source that cannot be read at all (missing file, unreachable URL). */
  unreadableSource?: Source;
}

const STAGE_STATUSES = new Set(['ACTIVE', 'COMPLETE', 'FAILED', 'PENDING', 'SKIPPED']);
const JOB_STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'UNKNOWN']);

/**
 * Checks the invariants every model must hold, whichever collector produced it. Returns the broken ones
 * (an empty list when the model is sound).
 */
export function modelInvariantViolations(m: ApplicationAttemptModel): string[] {
  const v: string[] = [];
  const where = `${m.appId}${m.attemptId ? `/${m.attemptId}` : ''}`;
  if (!m.appId) v.push(`${where}: empty appId`);
  if (m.application.id !== m.appId) v.push(`${where}: application.id differs from appId`);
  if (m.application.attempts.length !== 1) v.push(`${where}: application must hold exactly this attempt`);
  const a = m.application.attempts[0];
  if (a?.completed && a.duration !== a.endTimeEpoch - a.startTimeEpoch)
    v.push(`${where}: duration != end - start`);
  if (a && (a.attemptId ?? undefined) !== (m.attemptId ?? undefined)) v.push(`${where}: attemptId differs`);
  const stageIds = new Set(m.stages.map((s) => s.stageId));
  for (const j of m.jobs) {
    if (!JOB_STATUSES.has(j.status)) v.push(`${where}: job ${j.jobId} has status ${j.status}`);
    for (const id of j.stageIds)
      if (!stageIds.has(id)) v.push(`${where}: job ${j.jobId} names unknown stage ${id}`);
    for (const k of [
      'numTasks',
      'numCompletedTasks',
      'numFailedTasks',
      'numKilledTasks',
      'numCompletedIndices',
    ] as const) {
      if (!(j[k] >= 0)) v.push(`${where}: job ${j.jobId} ${k} = ${j[k]}`);
    }
  }
  for (const s of m.stages) {
    const id = `stage ${s.stageId}.${s.attemptId}`;
    if (!STAGE_STATUSES.has(s.status)) v.push(`${where}: ${id} has status ${s.status}`);
    for (const [k, val] of Object.entries(s)) {
      if (typeof val === 'number' && !(Number.isFinite(val) && (val >= 0 || k === 'numActiveTasks'))) {
        v.push(`${where}: ${id} ${k} = ${val}`);
      }
    }
    if (s.numCompletedIndices > s.numCompleteTasks)
      v.push(`${where}: ${id} more completed indices than tasks`);
    if (s.shuffleReadBytes !== s.shuffleLocalBytesRead + s.shuffleRemoteBytesRead) {
      v.push(`${where}: ${id} shuffleReadBytes != local + remote`);
    }
    const d = s.taskMetricsDistributions;
    if (d) {
      for (const q of [d.duration, d.executorRunTime, d.inputMetrics.bytesRead]) {
        if (q.length !== d.quantiles.length) v.push(`${where}: ${id} quantile arrays differ in length`);
        for (let i = 1; i < q.length; i++)
          if (q[i]! < q[i - 1]!) v.push(`${where}: ${id} quantiles not monotone`);
      }
    }
  }
  const execIds = new Set<string>();
  for (const e of m.executors) {
    if (execIds.has(e.id)) v.push(`${where}: executor ${e.id} listed twice`);
    execIds.add(e.id);
    if (e.completedTasks < 0 || e.failedTasks < 0) v.push(`${where}: executor ${e.id} negative task counts`);
  }
  return v;
}

/**
 * Declares the collector conformance tests (inside the caller's vitest file).
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { describeCollectorConformance } from 'sparkpilot/testing';
 * describeCollectorConformance('my-collector', {
 *   test: { describe, it, expect },
 *   create: () => myCollector({ url: 'http://localhost:18080' }),
 *   validSource: 'http://localhost:18080',
 * });
 * ```
 */
export function describeCollectorConformance<Source>(
  name: string,
  options: CollectorConformanceOptions<Source>,
): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  describe(`collector conformance: ${name}`, () => {
    it('declares a name and its capabilities', async () => {
      const c = await options.create();
      expect(typeof c.name).toBe('string');
      expect(c.name.length).toBeGreaterThan(0);
      expect(typeof c.capabilities.progress).toBe('boolean');
      expect(typeof c.capabilities.abort).toBe('boolean');
      await c.close?.();
    });

    it('reads sound models from a valid source, sorted, and the same twice', async () => {
      const c = await options.create();
      const first = await c.collect(options.validSource);
      expect(first.failures).toEqual([]);
      expect(first.applications.length).toBeGreaterThan(0);
      expect(first.applications.flatMap(modelInvariantViolations)).toEqual([]);
      const keys = first.applications.map((a) => `${a.appId}\u0000${a.attemptId ?? ''}`);
      expect(keys).toEqual([...keys].sort());
      if (options.expectedAppIds) {
        expect([...new Set(first.applications.map((a) => a.appId))].sort()).toEqual(
          [...options.expectedAppIds].sort(),
        );
      }
      const second = await c.collect(options.validSource);
      expect(JSON.stringify(second.applications)).toBe(JSON.stringify(first.applications));
      await c.close?.();
    });

    (options.unreadableSource !== undefined ? it : it.skip)(
      'reports an unreadable source as a failure, without throwing',
      async () => {
        const c = await options.create();
        const result = await c.collect(options.unreadableSource as Source);
        expect(result.applications).toEqual([]);
        expect(result.failures.length).toBeGreaterThan(0);
        for (const f of result.failures) {
          expect(f.error).toBeInstanceOf(SparkpilotError);
          expect(f.error.code).toMatch(/^SPARKPILOT_/);
          expect(f.error.message).toContain(String(f.source));
        }
        await c.close?.();
      },
    );

    it('rejects with the abort reason when aborted, when it declares abort', async () => {
      const c = await options.create();
      if (!c.capabilities.abort) return;
      const reason = new Error('stop now');
      const controller = new AbortController();
      controller.abort(reason);
      await expect(c.collect(options.validSource, { signal: controller.signal })).rejects.toBe(reason);
      await c.close?.();
    });

    it('reports progress up to done === total, when it declares progress', async () => {
      const c = await options.create();
      if (!c.capabilities.progress) return;
      const seen: CollectProgress[] = [];
      await c.collect(options.validSource, { onProgress: (p) => seen.push({ ...p }) });
      expect(seen.length).toBeGreaterThan(0);
      const last = seen[seen.length - 1]!;
      expect(last.done).toBe(last.total);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
      await c.close?.();
    });
  });
}
