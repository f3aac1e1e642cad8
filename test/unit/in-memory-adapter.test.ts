import { describe, expect, it } from 'vitest';
import { isTerminal, SubmissionError, type SubmissionRequest } from '../../src/adapters/adapter.js';
import { ManualClock } from '../../src/adapters/clock.js';
import { inMemoryAdapter } from '../../src/adapters/in-memory.js';
import { ConfigError, SparkpilotError } from '../../src/errors.js';
import { ADAPTER_CONFORMANCE_JOB_NAMES, describeAdapterConformance } from '../../src/testing/index.js';

describeAdapterConformance('in-memory (real clock)', {
  test: { describe, it, expect },
  create: () => {
    const adapter = inMemoryAdapter({
      default: { durationMs: 20 },
      jobs: {
        [ADAPTER_CONFORMANCE_JOB_NAMES.fails]: { durationMs: 20, fail: true },
        [ADAPTER_CONFORMANCE_JOB_NAMES.cancelled]: { durationMs: 5_000 },
      },
    });
    return { adapter, dispose: () => adapter.close() };
  },
  application: { file: 'ok.py' },
  failing: { file: 'fails.py' },
  timeoutMs: 2_000,
  pollMs: 5,
});

const req = (name: string, submissionKey: string): SubmissionRequest => ({
  submissionKey,
  name,
  application: { className: 'com.example.Etl', jar: 'etl.jar' },
  args: ['--date', '2024-06-01'],
  properties: { 'spark.executor.memory': '4g' },
});

describe('ManualClock', () => {
  it('fires due timers in time order, ties in the order set, with now() at each due time', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 30);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`late@${clock.now()}`), 100);
    expect(clock.advance(9)).toBe(0);
    expect(clock.now()).toBe(1_009);
    expect(clock.advance(21)).toBe(3);
    expect(fired).toEqual(['a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1_030);
    expect(clock.pending).toBe(1);
  });

  it('fires timers set by firing timers when they fall due in the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);
    expect(clock.advance(20)).toBe(2);
    expect(fired).toEqual([10, 15]);
    expect(clock.advance(100)).toBe(1);
    expect(fired).toEqual([10, 15, 60]);
    expect(clock.now()).toBe(120);
  });

  it('clears timers, ignores unknown handles, and runAll fires everything left', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const h = clock.setTimeout(() => fired.push(1), 10);
    clock.setTimeout(() => fired.push(2), 500);
    clock.setTimeout(() => fired.push(3), -5);
    clock.clearTimeout(h);
    clock.clearTimeout(12345);
    clock.clearTimeout(undefined);
    expect(clock.runAll()).toBe(2);
    expect(fired).toEqual([3, 2]);
    expect(clock.now()).toBe(500);
    expect(clock.pending).toBe(0);
  });

  it('runAll stops a timer that keeps rescheduling itself, and advance rejects bad input', () => {
    const clock = new ManualClock();
    const again = () => clock.setTimeout(again, 1);
    again();
    expect(() => clock.runAll(100)).toThrow(/keeps rescheduling itself/);
    expect(clock.pending).toBe(1);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('in-memory adapter', () => {
  it('fails the first N attempts of a job as scripted, then succeeds', async () => {
    const clock = new ManualClock();
    const adapter = inMemoryAdapter({
      clock,
      jobs: { etl: { durationMs: 60_000, fail: 2, failMessage: 'OOM as scripted', appIdPrefix: 'app-test' } },
    });
    const states: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const sub = await adapter.submit(req('etl', `etl-attempt-${i}`));
      expect((await adapter.status(sub.submissionId)).state).toBe('SUBMITTED');
      clock.advance(0);
      const running = await adapter.status(sub.submissionId);
      expect(running.state).toBe('RUNNING');
      expect(running.appId).toMatch(/^app-test-\d{4}$/);
      clock.advance(59_999);
      expect((await adapter.status(sub.submissionId)).state).toBe('RUNNING');
      clock.advance(1);
      const end = await adapter.status(sub.submissionId);
      states.push(end.state);
      if (end.state === 'FAILED') {
        expect(end).toMatchObject({ message: 'OOM as scripted', exitCode: 1 });
      } else {
        expect(end.exitCode).toBe(0);
      }
    }
    expect(states).toEqual(['FAILED', 'FAILED', 'SUCCEEDED']);
    expect(
      adapter.history.map(({ name, submissionKey, attempt, submittedAt, finishedAt, state }) => ({
        name,
        submissionKey,
        attempt,
        submittedAt,
        finishedAt,
        state,
      })),
    ).toEqual([
      {
        name: 'etl',
        submissionKey: 'etl-attempt-1',
        attempt: 1,
        submittedAt: 0,
        finishedAt: 60_000,
        state: 'FAILED',
      },
      {
        name: 'etl',
        submissionKey: 'etl-attempt-2',
        attempt: 2,
        submittedAt: 60_000,
        finishedAt: 120_000,
        state: 'FAILED',
      },
      {
        name: 'etl',
        submissionKey: 'etl-attempt-3',
        attempt: 3,
        submittedAt: 120_000,
        finishedAt: 180_000,
        state: 'SUCCEEDED',
      },
    ]);
  });

  it('keeps scripts per job name: another job uses the default script', async () => {
    const clock = new ManualClock();
    const adapter = inMemoryAdapter({
      clock,
      jobs: { flaky: { durationMs: 10, fail: true } },
      default: { durationMs: 30 },
    });
    const a = await adapter.submit(req('flaky', 'k-a'));
    const b = await adapter.submit(req('steady', 'k-b'));
    clock.advance(10);
    expect((await adapter.status(a.submissionId)).state).toBe('FAILED');
    expect((await adapter.status(b.submissionId)).state).toBe('RUNNING');
    clock.advance(20);
    expect((await adapter.status(b.submissionId)).state).toBe('SUCCEEDED');
    expect(adapter.history.map((h) => [h.name, h.attempt, h.state])).toEqual([
      ['flaky', 1, 'FAILED'],
      ['steady', 1, 'SUCCEEDED'],
    ]);
  });

  it('returns the same submission for a repeated key without starting or counting a second run', async () => {
    const clock = new ManualClock();
    const adapter = inMemoryAdapter({ clock, jobs: { etl: { durationMs: 100, fail: 1 } } });
    const first = await adapter.submit(req('etl', 'same-key'));
    clock.advance(50);
    const second = await adapter.submit(req('etl', 'same-key'));
    expect(second.submissionId).toBe(first.submissionId);
    expect(second.appId).toBe('app-in-memory-0001');
    expect(await adapter.findBySubmissionKey('same-key')).toEqual(second);
    expect(adapter.history).toHaveLength(1);
    clock.runAll();
    expect((await adapter.status(first.submissionId)).state).toBe('FAILED');
    // The repeated key did not use up the one scripted failure: the next new key is attempt 2 and succeeds.
    const next = await adapter.submit(req('etl', 'other-key'));
    clock.runAll();
    expect((await adapter.status(next.submissionId)).state).toBe('SUCCEEDED');
    expect(adapter.history.map((h) => h.attempt)).toEqual([1, 2]);
  });

  it('cancels to KILLED and stops the run; logs name the submission', async () => {
    const clock = new ManualClock();
    const adapter = inMemoryAdapter({ clock, default: { durationMs: 1_000 } });
    const sub = await adapter.submit(req('etl', 'k-cancel'));
    clock.advance(100);
    await adapter.cancel(sub.submissionId);
    expect(clock.pending).toBe(0);
    clock.advance(5_000);
    expect(await adapter.status(sub.submissionId)).toMatchObject({
      state: 'KILLED',
      appId: 'app-in-memory-0001',
    });
    expect(adapter.history[0]).toMatchObject({ state: 'KILLED', finishedAt: 100 });
    const logs = await adapter.logs(sub.submissionId);
    expect(logs).toContain(sub.submissionId);
    expect(logs).toContain('k-cancel');
    expect(logs).toContain('killed by request');
    expect(isTerminal('KILLED')).toBe(true);
  });

  it('rejects an unknown id with a SubmissionError naming the adapter and the id', async () => {
    const adapter = inMemoryAdapter();
    const err = await adapter.status('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmissionError);
    expect(err).toBeInstanceOf(SparkpilotError);
    expect(err).toMatchObject({
      name: 'SubmissionError',
      code: 'SPARKPILOT_SUBMIT_UNKNOWN_ID',
      retryable: false,
      submissionId: 'nope',
      adapter: 'in-memory',
    });
    expect((err as Error).message).toMatch(/^\[sparkpilot\] \[in-memory\] submission "nope" is unknown/);
  });

  it('validates its options once, at the edge', () => {
    expect(() => inMemoryAdapter({ default: { durationMs: -1 } })).toThrow(ConfigError);
    expect(() => inMemoryAdapter({ clock: {} as never })).toThrow(/now\(\), setTimeout/);
    expect(inMemoryAdapter.factoryName).toBe('in-memory');
    expect(inMemoryAdapter().capabilities).toEqual({
      cancel: true,
      logs: true,
      sessions: false,
      findBySubmissionKey: true,
    });
  });
});

describe('SubmissionError', () => {
  it('is retryable by code unless told otherwise, and instanceof does not match other sparkpilot errors', () => {
    expect(new SubmissionError('SPARKPILOT_SUBMIT_UNREACHABLE', 'down').retryable).toBe(true);
    expect(new SubmissionError('SPARKPILOT_SUBMIT_REJECTED', 'bad').retryable).toBe(false);
    expect(new SubmissionError('SPARKPILOT_SUBMIT_REJECTED', 'bad', { retryable: true }).retryable).toBe(
      true,
    );
    const e = new SubmissionError('SPARKPILOT_SUBMIT_REJECTED', 'key "k": no such jar.', {
      adapter: 'spark-submit',
      submissionKey: 'k',
    });
    expect(e.message).toBe('[sparkpilot] [spark-submit] key "k": no such jar.');
    expect(e.submissionKey).toBe('k');
    expect(new ConfigError('SPARKPILOT_CONFIG_INVALID', 'x')).not.toBeInstanceOf(SubmissionError);
  });
});
