/**
 * A conformance suite for {@link SubmissionAdapter}s, run with vitest (or jest). Every built-in adapter
 * passes it; extension authors run it on theirs, against a real (or containerized) cluster.
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  type AdapterCapabilities,
  isTerminal,
  type SubmissionAdapter,
  SubmissionError,
  type SubmissionRequest,
  type SubmissionStatus,
} from '../adapters/adapter.js';
import { resolveTestApi, type TestApi } from './collector-conformance.js';

/**
 * The job names the suite submits under (`request.name`): a succeeding run, a failing run, and a run to
 * cancel. Adapters that pick behaviour by job name (the in-memory one) script these.
 */
export const ADAPTER_CONFORMANCE_JOB_NAMES = Object.freeze({
  succeeds: 'sparkpilot-conformance-succeeds',
  fails: 'sparkpilot-conformance-fails',
  cancelled: 'sparkpilot-conformance-cancelled',
});

/** What the suite needs to exercise an adapter. */
export interface AdapterConformanceOptions {
  /** The runner's `describe`, `it` and `expect`; defaults to the runner's globals. */
  test?: TestApi;
  /** Builds a fresh adapter for each test, and how to release it. */
  create: () =>
    | Promise<{ adapter: SubmissionAdapter; dispose?: () => void | Promise<void> }>
    | { adapter: SubmissionAdapter; dispose?: () => void | Promise<void> };
  /** An application that runs and succeeds. */
  application: SubmissionRequest['application'];
  /** An application that runs and fails; the failure test is skipped without one. */
  failing?: SubmissionRequest['application'];
  /** An application that runs long enough to be cancelled (default: `application`). */
  cancellable?: SubmissionRequest['application'];
  /** Spark properties sent with every request (master, deploy mode, ...). */
  properties?: Record<string, string>;
  /** How long a submission may take to reach a terminal state, ms (default 60 000). */
  timeoutMs?: number;
  /** How often status is polled, ms (default 50). */
  pollMs?: number;
}

type Capability = keyof AdapterCapabilities;

/**
 * Declares the adapter conformance tests. Tests of an optional capability are skipped (through vitest's
 * `context.skip()`; under a runner without it they return early) when the adapter declares it lacks it.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { describeAdapterConformance } from 'sparkpilot/testing';
 * describeAdapterConformance('livy', {
 *   test: { describe, it, expect },
 *   create: () => ({ adapter: livyAdapter({ url: 'http://localhost:8998' }) }),
 *   application: { file: 'local:///opt/spark/examples/src/main/python/pi.py' },
 *   failing: { file: 'local:///no/such/file.py' },
 *   timeoutMs: 120_000,
 * });
 * ```
 */
export function describeAdapterConformance(name: string, options: AdapterConformanceOptions): void {
  const { describe, it, expect } = resolveTestApi(options.test);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 50;
  const testTimeout = timeoutMs * 2 + 5_000;
  const states = ['SUBMITTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'KILLED', 'UNKNOWN'];

  const request = (
    jobName: string,
    application: SubmissionRequest['application'] = options.application,
  ): SubmissionRequest => ({
    submissionKey: `sparkpilot-conformance-${randomUUID()}`,
    application,
    args: [],
    properties: { ...options.properties },
    name: jobName,
  });

  const waitForTerminal = async (adapter: SubmissionAdapter, id: string): Promise<SubmissionStatus> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await adapter.status(id);
      expect(states).toContain(s.state);
      if (isTerminal(s.state)) return s;
      if (Date.now() > deadline) {
        throw new Error(
          `[sparkpilot] [testing] submission ${id} on "${adapter.name}" is still ${s.state} after ${timeoutMs} ms. Raise timeoutMs, or check the cluster.`,
        );
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };

  /** A test on a fresh adapter, disposed afterwards; skipped when `capability` is declared false. */
  const adapterTest = (
    title: string,
    capability: Capability | undefined,
    body: (adapter: SubmissionAdapter) => Promise<void>,
  ) =>
    // Rest parameters keep `length` 0, so jest does not take the body for a `done`-callback test.
    it(
      title,
      async (...args: unknown[]) => {
        const { adapter, dispose } = await options.create();
        try {
          if (capability && !adapter.capabilities[capability]) {
            const ctx = args[0] as { skip?: (note?: string) => void } | undefined;
            if (typeof ctx?.skip === 'function') ctx.skip(`"${adapter.name}" declares ${capability}: false`);
            return;
          }
          await body(adapter);
        } finally {
          await dispose?.();
        }
      },
      testTimeout,
    );

  describe(`adapter conformance: ${name}`, () => {
    adapterTest('declares a name, its capabilities, and the methods they promise', undefined, async (a) => {
      expect(typeof a.name).toBe('string');
      expect(a.name.length).toBeGreaterThan(0);
      for (const c of ['cancel', 'logs', 'sessions', 'findBySubmissionKey'] as const) {
        expect(typeof a.capabilities[c]).toBe('boolean');
      }
      for (const c of ['cancel', 'logs', 'findBySubmissionKey'] as const) {
        expect({ [c]: typeof a[c] === 'function' }).toEqual({ [c]: a.capabilities[c] });
      }
    });

    adapterTest('runs a submission to SUCCEEDED, with a Spark application id', undefined, async (a) => {
      const req = request(ADAPTER_CONFORMANCE_JOB_NAMES.succeeds);
      const sub = await a.submit(req);
      expect(typeof sub.submissionId).toBe('string');
      expect(sub.submissionId.length).toBeGreaterThan(0);
      expect(sub.submissionKey).toBe(req.submissionKey);
      const end = await waitForTerminal(a, sub.submissionId);
      expect(end.state).toBe('SUCCEEDED');
      expect(typeof end.appId).toBe('string');
      expect(end.appId!.length).toBeGreaterThan(0);
      // Terminal states are final.
      const again = await a.status(sub.submissionId);
      expect(again.state).toBe('SUCCEEDED');
      expect(again.appId).toBe(end.appId);
    });

    (options.failing !== undefined ? it : it.skip)(
      'runs a failing application to FAILED',
      async () => {
        const { adapter: a, dispose } = await options.create();
        try {
          const sub = await a.submit(request(ADAPTER_CONFORMANCE_JOB_NAMES.fails, options.failing));
          const end = await waitForTerminal(a, sub.submissionId);
          expect(end.state).toBe('FAILED');
          expect((await a.status(sub.submissionId)).state).toBe('FAILED');
        } finally {
          await dispose?.();
        }
      },
      testTimeout,
    );

    adapterTest(
      'rejects the status of an unknown id with SPARKPILOT_SUBMIT_UNKNOWN_ID',
      undefined,
      async (a) => {
        const id = `no-such-submission-${randomUUID()}`;
        const err = await a.status(id).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SubmissionError);
        const se = err as SubmissionError;
        expect(se.code).toBe('SPARKPILOT_SUBMIT_UNKNOWN_ID');
        expect(se.retryable).toBe(false);
        expect(se.message).toContain(id);
      },
    );

    adapterTest('cancels a running submission to KILLED', 'cancel', async (a) => {
      const sub = await a.submit(
        request(ADAPTER_CONFORMANCE_JOB_NAMES.cancelled, options.cancellable ?? options.application),
      );
      await a.cancel!(sub.submissionId);
      const end = await waitForTerminal(a, sub.submissionId);
      expect(end.state).toBe('KILLED');
      // Cancelling a finished submission changes nothing.
      await a.cancel!(sub.submissionId);
      expect((await a.status(sub.submissionId)).state).toBe('KILLED');
    });

    adapterTest(
      'finds a submission by its key, and a second submit with the key does not start a second run',
      'findBySubmissionKey',
      async (a) => {
        const req = request(ADAPTER_CONFORMANCE_JOB_NAMES.succeeds);
        expect(await a.findBySubmissionKey!(req.submissionKey)).toBeUndefined();
        const sub = await a.submit(req);
        const found = await a.findBySubmissionKey!(req.submissionKey);
        expect(found?.submissionId).toBe(sub.submissionId);
        expect(found?.submissionKey).toBe(req.submissionKey);
        const again = await a.submit({ ...req });
        expect(again.submissionId).toBe(sub.submissionId);
        expect(again.submissionKey).toBe(req.submissionKey);
        const end = await waitForTerminal(a, sub.submissionId);
        expect(end.state).toBe('SUCCEEDED');
        const afterwards = await a.findBySubmissionKey!(req.submissionKey);
        expect(afterwards?.submissionId).toBe(sub.submissionId);
        expect(afterwards?.appId).toBe(end.appId);
      },
    );

    adapterTest('returns the logs of a submission as non-empty text', 'logs', async (a) => {
      const sub = await a.submit(request(ADAPTER_CONFORMANCE_JOB_NAMES.succeeds));
      await waitForTerminal(a, sub.submissionId);
      const text = await a.logs!(sub.submissionId);
      expect(typeof text).toBe('string');
      expect(text.trim().length).toBeGreaterThan(0);
      const id = `no-such-submission-${randomUUID()}`;
      await expect(a.logs!(id)).rejects.toMatchObject({ code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID' });
    });

    adapterTest('rejects with the abort reason when the signal is aborted', undefined, async (a) => {
      const reason = new Error('stop now');
      const controller = new AbortController();
      controller.abort(reason);
      const { signal } = controller;
      const req = request(ADAPTER_CONFORMANCE_JOB_NAMES.succeeds);
      await expect(a.submit(req, { signal })).rejects.toBe(reason);
      await expect(a.status(`no-such-submission-${randomUUID()}`, { signal })).rejects.toBe(reason);
      if (a.findBySubmissionKey) {
        // An aborted submit submitted nothing.
        expect(await a.findBySubmissionKey(req.submissionKey)).toBeUndefined();
        await expect(a.findBySubmissionKey(req.submissionKey, { signal })).rejects.toBe(reason);
      }
      if (a.cancel) await expect(a.cancel('x', { signal })).rejects.toBe(reason);
      if (a.logs) await expect(a.logs('x', { signal })).rejects.toBe(reason);
    });
  });
}
