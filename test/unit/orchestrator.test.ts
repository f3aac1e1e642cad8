import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/clock.js';
import { inMemoryAdapter } from '../../src/adapters/in-memory.js';
import { createOrchestrator } from '../../src/orchestrate/orchestrator.js';
import { definePipeline, type JobInput, type PipelineInput } from '../../src/orchestrate/pipeline.js';
import { openStore } from '../../src/store/knex/connect.js';
import { createPipelineTestKit, type PipelineTestKit } from '../../src/testing/pipeline-kit.js';
import { deferred } from '../helpers/deferred.js';

const res = { executors: 2, coresPerExecutor: 4, executorMemory: '4g' } as const;
const job = (name: string, extra: Partial<JobInput> = {}): JobInput => ({
  name,
  application: { file: `${name}.py` },
  resources: res,
  ...extra,
});
const pipe = (name: string, jobs: JobInput[], extra: Partial<PipelineInput> = {}) =>
  definePipeline({ name, schedule: 'daily', jobs, ...extra });
const H = 3_600_000;
const M = 60_000;

let kit: PipelineTestKit | undefined;
afterEach(async () => {
  expect(kit?.errors ?? []).toEqual([]);
  await kit?.close();
  kit = undefined;
});

describe('orchestrator with the pipeline test kit', () => {
  it('runs a daily pipeline after its interval ends, jobs in dependency order, with the interval templated', async () => {
    const p = pipe(
      'nightly',
      [
        job('extract', { args: ['--date', '{{ ds }}'], writes: ['raw'] }),
        job('clean', { reads: ['raw'], writes: ['clean'] }),
        job('report', { dependsOn: ['clean'], properties: { 'spark.x': '{{ interval.end }}' } }),
      ],
      { start: new Date('2025-06-01T00:00:00Z') },
    );
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-01T00:00:00Z',
      default: { durationMs: 10 * M },
    });
    expect(await kit.runs('nightly')).toEqual([]);
    await kit.advance(24 * H + H);
    const runs = await kit.runs('nightly');
    expect(runs.map((r) => [r.id, r.status])).toEqual([['nightly@2025-06-01T00:00:00.000Z', 'succeeded']]);
    expect(kit.jobOrder(runs[0]!.id)).toEqual(['extract', 'clean', 'report']);
    const subs = kit.submissions();
    expect(subs[0]!.args).toEqual(['--date', '2025-06-01']);
    expect(subs[2]!.properties['spark.x']).toBe('2025-06-02T00:00:00.000Z');
    expect(subs[0]!.properties['spark.executor.instances']).toBe('2');
    // each job starts when its upstream ends: no scheduling gap on the clock
    expect(subs.map((s) => s.submittedAt - Date.parse('2025-06-02T00:00:00Z'))).toEqual([0, 10 * M, 20 * M]);
  });

  it('retries a failed job with exponential backoff, then succeeds', async () => {
    const p = pipe(
      'etl',
      [
        job('load', { retries: { attempts: 3, backoff: { initialMs: 5 * M, factor: 2 } } }),
        job('after', { dependsOn: ['load'] }),
      ],
      { start: new Date('2025-06-01T00:00:00Z') },
    );
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-01T00:00:00Z',
      jobs: { load: { durationMs: M, fail: 2 } },
    });
    const retries: number[] = [];
    kit.orchestrator.on('job:retry', (e) => retries.push(e.delayMs));
    const [run] = await (async () => {
      await kit!.advance(24 * H);
      return kit!.runs('etl');
    })();
    const done = await kit.runToEnd(run!.id);
    expect(done.status).toBe('succeeded');
    const subs = kit.submissions();
    expect(subs.map((s) => [s.job, s.try, s.state])).toEqual([
      ['load', 1, 'FAILED'],
      ['load', 2, 'FAILED'],
      ['load', 3, 'SUCCEEDED'],
      ['after', 1, 'SUCCEEDED'],
    ]);
    const t0 = Date.parse('2025-06-02T00:00:00Z');
    expect(subs.map((s) => s.submittedAt - t0)).toEqual([
      0,
      M + 5 * M,
      M + 5 * M + M + 10 * M,
      3 * M + 15 * M,
    ]);
    expect(retries).toEqual([5 * M, 10 * M]);
    const attempts = await kit.orchestrator.jobRuns(run!.id);
    expect(attempts.filter((a) => a.job === 'load').map((a) => a.status)).toEqual([
      'failed',
      'failed',
      'succeeded',
    ]);
    expect(new Set(attempts.map((a) => a.submissionKey)).size).toBe(4);
  });

  it('marks the downstream of a failed job skipped, runs independent branches, and fails the run', async () => {
    const p = pipe(
      'etl',
      [job('a'), job('b', { dependsOn: ['a'] }), job('c', { dependsOn: ['b'] }), job('d')],
      {
        start: new Date('2025-06-01T00:00:00Z'),
      },
    );
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-02T00:00:00Z',
      jobs: { a: { durationMs: M, fail: true } },
    });
    const skipped: string[] = [];
    kit.orchestrator.on('job:skipped', (e) => skipped.push(e.jobRun.job));
    const [run] = await kit.runs('etl');
    const done = await kit.runToEnd(run!.id);
    expect(done.status).toBe('failed');
    expect(skipped.sort()).toEqual(['b', 'c']);
    expect(kit.jobOrder(run!.id).sort()).toEqual(['a', 'd']);
    const latest = Object.fromEntries(
      (await kit.orchestrator.jobRuns(run!.id)).map((r) => [r.job, r.status]),
    );
    expect(latest).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', d: 'succeeded' });
  });

  it('cancels a job that runs past its timeout, and retries it', async () => {
    const p = pipe(
      'etl',
      [job('slow', { timeoutMs: 30 * M, retries: { attempts: 1, backoff: { initialMs: M } } })],
      {
        start: new Date('2025-06-01T00:00:00Z'),
      },
    );
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-02T00:00:00Z',
      jobs: { slow: { durationMs: 2 * H } },
    });
    const timeouts: number[] = [];
    kit.orchestrator.on('job:timeout', () => timeouts.push(kit!.clock.now()));
    const [run] = await kit.runs('etl');
    const done = await kit.runToEnd(run!.id);
    expect(done.status).toBe('failed');
    const t0 = Date.parse('2025-06-02T00:00:00Z');
    expect(timeouts.map((t) => t - t0)).toEqual([30 * M, 30 * M + M + 30 * M]);
    expect(kit.submissions().map((s) => [s.state, (s.finishedAt ?? 0) - s.submittedAt])).toEqual([
      ['KILLED', 30 * M],
      ['KILLED', 30 * M],
    ]);
    const rows = await kit.orchestrator.jobRuns(run!.id);
    expect(rows.map((r) => [r.status, r.data.timedOut])).toEqual([
      ['failed', true],
      ['failed', true],
    ]);
  });

  it('starts ready jobs by priority within the global concurrency, and bounds a pool', async () => {
    const p = pipe(
      'etl',
      [job('low', { priority: 1 }), job('high', { priority: 5 }), job('mid', { priority: 3 })],
      { start: new Date('2025-06-01T00:00:00Z') },
    );
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-02T00:00:00Z',
      concurrency: { global: 1 },
    });
    const [run] = await kit.runs('etl');
    await kit.runToEnd(run!.id);
    expect(kit.jobOrder(run!.id)).toEqual(['high', 'mid', 'low']);
    await kit.close();

    const q = pipe(
      'pools',
      [
        job('h1', { pool: 'heavy' }),
        job('h2', { pool: 'heavy' }),
        job('h3', { pool: 'heavy' }),
        job('light'),
      ],
      { start: new Date('2025-06-01T00:00:00Z') },
    );
    kit = await createPipelineTestKit({
      pipelines: [q],
      start: '2025-06-02T00:00:00Z',
      concurrency: { global: 10, pools: { heavy: 1 } },
    });
    const [run2] = await kit.runs('pools');
    await kit.runToEnd(run2!.id);
    const subs = kit.submissions();
    const heavy = subs.filter((s) => s.job.startsWith('h')).sort((a, b) => a.submittedAt - b.submittedAt);
    for (let i = 1; i < heavy.length; i++)
      expect(heavy[i]!.submittedAt).toBeGreaterThanOrEqual(heavy[i - 1]!.finishedAt!);
    expect(subs.find((s) => s.job === 'light')!.submittedAt).toBe(Date.parse('2025-06-02T00:00:00Z'));
    expect(heavy.at(-1)!.finishedAt! - heavy[0]!.submittedAt).toBe(3 * M);
  });

  it('catches up missed intervals one run at a time (maxActiveRuns 1), or only the latest without catch-up', async () => {
    const p = pipe('hourly', [job('a')], { schedule: 'hourly', start: new Date('2025-06-01T00:00:00Z') });
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-01T05:30:00Z',
      default: { durationMs: 10 * M },
    });
    await kit.advance(2 * H);
    const runs = await kit.runs('hourly');
    expect(runs.map((r) => [new Date(r.intervalStart).toISOString(), r.status])).toEqual([
      ['2025-06-01T00:00:00.000Z', 'succeeded'],
      ['2025-06-01T01:00:00.000Z', 'succeeded'],
      ['2025-06-01T02:00:00.000Z', 'succeeded'],
      ['2025-06-01T03:00:00.000Z', 'succeeded'],
      ['2025-06-01T04:00:00.000Z', 'succeeded'],
      ['2025-06-01T05:00:00.000Z', 'succeeded'],
      ['2025-06-01T06:00:00.000Z', 'succeeded'],
    ]);
    const subs = kit.submissions().sort((a, b) => a.submittedAt - b.submittedAt);
    for (let i = 1; i < subs.length; i++)
      expect(subs[i]!.submittedAt).toBeGreaterThanOrEqual(subs[i - 1]!.finishedAt!);
    expect(subs.map((s) => s.interval.start).slice(0, 3)).toEqual([
      '2025-06-01T00:00:00.000Z',
      '2025-06-01T01:00:00.000Z',
      '2025-06-01T02:00:00.000Z',
    ]);
    await kit.close();

    const q = pipe('hourly', [job('a')], {
      schedule: 'hourly',
      catchup: false,
      start: new Date('2025-06-01T00:00:00Z'),
    });
    kit = await createPipelineTestKit({ pipelines: [q], start: '2025-06-01T05:30:00Z' });
    await kit.advance(H);
    expect((await kit.runs('hourly')).map((r) => new Date(r.intervalStart).toISOString())).toEqual([
      '2025-06-01T04:00:00.000Z',
      '2025-06-01T05:00:00.000Z',
    ]);
  });

  it('backfills a range newest first with bounded concurrency', async () => {
    const p = pipe('daily', [job('a')], { maxActiveRuns: 5 });
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-07-01T00:30:00Z',
      schedule: false,
      default: { durationMs: H },
    });
    const runs = await kit.orchestrator.backfill('daily', {
      from: new Date('2025-06-01T00:00:00Z'),
      to: new Date('2025-06-06T00:00:00Z'),
      concurrency: 2,
      order: 'newest',
    });
    expect(runs.map((r) => new Date(r.intervalStart).toISOString().slice(0, 10))).toEqual([
      '2025-06-05',
      '2025-06-04',
      '2025-06-03',
      '2025-06-02',
      '2025-06-01',
    ]);
    for (const r of runs) await kit.runToEnd(r.id);
    const t0 = Date.parse('2025-07-01T00:30:00Z');
    const started = Object.fromEntries(
      kit.submissions().map((s) => [s.interval.start.slice(0, 10), s.submittedAt - t0]),
    );
    expect(started).toEqual({
      '2025-06-05': 0,
      '2025-06-04': 0,
      '2025-06-03': H,
      '2025-06-02': H,
      '2025-06-01': 2 * H,
    });
    expect(
      (await kit.runs('daily')).every((r) => r.status === 'succeeded' && r.data.trigger === 'backfill'),
    ).toBe(true);
  });

  it('creates no runs while paused, and catches up on resume', async () => {
    const p = pipe('hourly', [job('a')], { schedule: 'hourly', start: new Date('2025-06-01T00:00:00Z') });
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-01T00:10:00Z',
      default: { durationMs: M },
    });
    await kit.orchestrator.pause('hourly');
    await kit.advance(3 * H);
    expect(await kit.runs('hourly')).toEqual([]);
    expect(await kit.store.runs.isPaused('hourly')).toBe(true);
    await kit.orchestrator.resume('hourly');
    await kit.advance(10 * M);
    expect(
      (await kit.runs('hourly')).map((r) => [
        new Date(r.intervalStart).toISOString().slice(11, 16),
        r.status,
      ]),
    ).toEqual([
      ['00:00', 'succeeded'],
      ['01:00', 'succeeded'],
      ['02:00', 'succeeded'],
    ]);
  });

  it('reruns a failed job with its downstream, and marks a job succeeded so its downstream runs', async () => {
    const p = pipe('etl', [job('a'), job('b', { dependsOn: ['a'] }), job('c', { dependsOn: ['b'] })], {
      start: new Date('2025-06-01T00:00:00Z'),
    });
    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-02T00:00:00Z',
      jobs: { b: { durationMs: M, fail: 1 } },
    });
    const [run] = await kit.runs('etl');
    expect((await kit.runToEnd(run!.id)).status).toBe('failed');
    await expect(kit.orchestrator.rerun(run!.id, 'zzz')).rejects.toThrow(/has no job "zzz"/);
    await kit.orchestrator.rerun(run!.id, 'b');
    expect((await kit.runToEnd(run!.id)).status).toBe('succeeded');
    expect(kit.jobOrder(run!.id)).toEqual(['a', 'b', 'b', 'c']);
    const rows = await kit.orchestrator.jobRuns(run!.id);
    expect(rows.map((r) => [r.job, r.try, r.status])).toEqual([
      ['a', 1, 'succeeded'],
      ['b', 1, 'failed'],
      ['b', 2, 'succeeded'],
      ['c', 1, 'skipped'],
      ['c', 2, 'succeeded'],
    ]);
    await kit.close();

    kit = await createPipelineTestKit({
      pipelines: [p],
      start: '2025-06-02T00:00:00Z',
      jobs: { b: { durationMs: M, fail: true } },
    });
    const [run2] = await kit.runs('etl');
    expect((await kit.runToEnd(run2!.id)).status).toBe('failed');
    await kit.orchestrator.markSucceeded(run2!.id, 'b');
    expect((await kit.runToEnd(run2!.id)).status).toBe('succeeded');
    expect(kit.jobOrder(run2!.id)).toEqual(['a', 'b', 'c']);
    const marked = (await kit.orchestrator.jobRuns(run2!.id)).find((r) => r.job === 'b' && r.try === 2);
    expect(marked?.data.marked).toBe(true);
  });

  it('starts a daily run only after the 24 hourly runs of its day succeeded', async () => {
    const hourly = pipe('hourly', [job('ingest')], {
      schedule: 'hourly',
      start: new Date('2025-06-01T00:00:00Z'),
      maxActiveRuns: 1,
    });
    const daily = pipe('daily', [job('aggregate')], {
      start: new Date('2025-06-01T00:00:00Z'),
      waitFor: [{ pipeline: 'hourly' }],
    });
    kit = await createPipelineTestKit({
      pipelines: [hourly, daily],
      start: '2025-06-01T00:00:00Z',
      jobs: { ingest: { durationMs: 20 * M } },
    });
    await kit.advance(24 * H + 10 * M);
    const [d] = await kit.runs('daily');
    expect(d!.status).toBe('queued');
    const done = await kit.runToEnd(d!.id);
    expect(done.status).toBe('succeeded');
    const agg = kit.submissions().find((s) => s.job === 'aggregate')!;
    const lastHourly = kit
      .submissions()
      .filter((s) => s.job === 'ingest' && s.interval.start === '2025-06-01T23:00:00.000Z')[0]!;
    expect(agg.submittedAt).toBe(lastHourly.finishedAt);
    expect(agg.submittedAt).toBe(Date.parse('2025-06-02T00:20:00Z'));
  });

  it('emits typed events for every state change, in order', async () => {
    const p = pipe('etl', [job('a'), job('b', { dependsOn: ['a'] })], {
      start: new Date('2025-06-01T00:00:00Z'),
    });
    const seen: string[] = [];
    kit = await createPipelineTestKit({ pipelines: [p], start: '2025-06-01T23:00:00Z' });
    for (const e of ['run:created', 'run:started', 'run:succeeded', 'run:failed'] as const)
      kit.orchestrator.on(e, () => seen.push(e));
    for (const e of ['job:queued', 'job:submitted', 'job:succeeded', 'job:failed'] as const) {
      kit.orchestrator.on(e, (x: { jobRun: { job: string } }) => seen.push(`${e} ${x.jobRun.job}`));
    }
    await kit.advance(2 * H);
    expect(seen).toEqual([
      'run:created',
      'run:started',
      'job:queued a',
      'job:submitted a',
      'job:succeeded a',
      'job:queued b',
      'job:submitted b',
      'job:succeeded b',
      'run:succeeded',
    ]);
  });

  it('takes resources from a confident recommendation for `auto`, and falls back otherwise', async () => {
    const auto = {
      mode: 'auto' as const,
      minConfidence: 0.6,
      fallback: { executors: 2, coresPerExecutor: 2, executorMemory: '2g' },
    };
    const p = pipe('etl', [job('a', { resources: auto }), job('b', { resources: auto })], {
      start: new Date('2025-06-01T00:00:00Z'),
    });
    const store = await openStore('sqlite::memory:');
    for (const [jobName, confidence] of [
      ['etl.a', 0.9],
      ['etl.b', 0.3],
    ] as const) {
      await store.recommendations.save({
        id: `rec-${jobName}`,
        jobKey: jobName,
        recommender: 'ensemble',
        confidence,
        createdAt: 1,
        data: { properties: { 'spark.executor.instances': '7', 'spark.executor.memory': '6g' } },
      });
    }
    kit = await createPipelineTestKit({ pipelines: [p], start: '2025-06-02T00:00:00Z', store });
    const [run] = await kit.runs('etl');
    await kit.runToEnd(run!.id);
    const props = Object.fromEntries(kit.submissions().map((s) => [s.job, s.properties]));
    expect(props.a!['spark.executor.instances']).toBe('7');
    expect(props.a!['spark.executor.memory']).toBe('6g');
    expect(props.b!['spark.executor.instances']).toBe('2');
    expect(props.b!['spark.executor.memory']).toBe('2g');
    const rows = await kit.orchestrator.jobRuns(run!.id);
    expect(rows.map((r) => r.data.resources)).toEqual([
      { source: 'recommendation', recommendationId: 'rec-etl.a', confidence: 0.9 },
      { source: 'fallback' },
    ]);
    await kit.close();
    await store.close();
    kit = undefined;
  });
});

describe('orchestrator recovery', () => {
  it('re-attaches to a running job after a restart, and does not submit anything twice', async () => {
    const clock = new ManualClock(Date.parse('2025-06-02T00:00:00Z'));
    const cluster = inMemoryAdapter({ clock, default: { durationMs: 30 * M } });
    const store = await openStore('sqlite::memory:');
    const p = pipe('etl', [job('a'), job('b', { dependsOn: ['a'] })], {
      start: new Date('2025-06-01T00:00:00Z'),
    });
    const make = () =>
      createOrchestrator({
        store,
        adapters: { default: cluster },
        pipelines: [p],
        clock,
        owner: 'host-1',
        leaseMs: 10 * M,
        pollMs: M,
      });
    const first = make();
    await first.start();
    await first.idle();
    clock.advance(5 * M);
    await first.idle();
    expect(cluster.history.map((h) => [h.name, h.state])).toEqual([['etl.a', 'RUNNING']]);
    await first.stop(); // as if the process died: the job keeps running on the cluster

    const reattached: string[] = [];
    const second = make();
    second.on('job:reattached', (e) => reattached.push(e.jobRun.job));
    await second.start();
    for (let i = 0; i < 200 && clock.nextDueAt() !== undefined; i++) {
      await second.idle();
      clock.advance(clock.nextDueAt()! - clock.now());
      await second.idle();
      const [run] = await store.runs.listRuns({ pipeline: 'etl' });
      if (run?.status === 'succeeded') break;
    }
    const [run] = await store.runs.listRuns({ pipeline: 'etl' });
    expect(run!.status).toBe('succeeded');
    expect(reattached).toEqual(['a']);
    expect(cluster.history.map((h) => [h.name, h.state])).toEqual([
      ['etl.a', 'SUCCEEDED'],
      ['etl.b', 'SUCCEEDED'],
    ]);
    await second.stop();
    await store.close();
  });

  it('finds a submission by its key when the process died between submitting and recording it', async () => {
    const clock = new ManualClock(Date.parse('2025-06-02T00:00:00Z'));
    const cluster = inMemoryAdapter({ clock, default: { durationMs: 30 * M } });
    const store = await openStore('sqlite::memory:');
    const p = pipe('etl', [job('a')], { start: new Date('2025-06-01T00:00:00Z') });
    const orch = createOrchestrator({
      store,
      adapters: { default: cluster },
      pipelines: [p],
      clock,
      owner: 'host-1',
      leaseMs: 10 * M,
      pollMs: M,
      schedule: false,
    });
    const run = await store.runs.getRun((await orch.trigger('etl')).id);
    // What a crash right after submit leaves: the attempt claimed (`submitting`) with its key, no submission id.
    const now = clock.now();
    await store.runs.setRunStatus(run!.id, 'running', ['queued'], now);
    const key = `etl/${new Date(run!.intervalStart).toISOString()}/a/1`;
    await store.runs.insertJobRuns([
      {
        id: `${run!.id}/a/1`,
        runId: run!.id,
        pipeline: 'etl',
        job: 'a',
        try: 1,
        status: 'submitting',
        submissionKey: key,
        leaseOwner: 'dead-host',
        leaseExpiresAt: now + M,
        notBefore: now,
        priority: 0,
        createdAt: now,
        updatedAt: now,
        data: {},
      },
    ]);
    await cluster.submit({
      submissionKey: key,
      name: 'etl.a',
      application: { file: 'a.py' },
      args: [],
      properties: {},
    });
    const reattached: (string | undefined)[] = [];
    orch.on('job:reattached', (e) => reattached.push(e.submissionId));
    await orch.start();
    for (let i = 0; i < 100; i++) {
      await orch.idle();
      const due = clock.nextDueAt();
      if (due === undefined) break;
      clock.advance(due - clock.now());
      await orch.idle();
      if ((await store.runs.getRun(run!.id))?.status === 'succeeded') break;
    }
    expect((await store.runs.getRun(run!.id))?.status).toBe('succeeded');
    expect(reattached).toEqual(['in-memory-1']);
    expect(cluster.history.length).toBe(1);
    await orch.stop();
    await store.close();
  });
});

describe('orchestrator stop', () => {
  it('waits for the scheduling pass in progress, hands back what that pass claimed, and then leaves the store alone', async () => {
    const clock = new ManualClock(Date.parse('2025-06-02T00:00:00Z'));
    const cluster = inMemoryAdapter({ clock, default: { durationMs: 30 * M } });
    const store = await openStore('sqlite::memory:');
    // The orchestrator's view of the run repository: every call is counted once stop() has resolved, and the
    // first claim waits until the test lets it go, so that stop() comes while the pass is claiming.
    const held = deferred();
    const claimStarted = deferred();
    let afterStop = false;
    const lateCalls: string[] = [];
    const runs = new Proxy(store.runs, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (afterStop) lateCalls.push(String(prop));
          const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
          if (prop !== 'claim') return call();
          claimStarted.resolve();
          return held.promise.then(call);
        };
      },
    });
    const orch = createOrchestrator({
      store: { ...store, runs },
      adapters: { default: cluster },
      pipelines: [pipe('etl', [job('a'), job('b')], { start: new Date('2025-06-01T00:00:00Z') })],
      clock,
      owner: 'host-1',
      leaseMs: 10 * M,
      pollMs: M,
      schedule: false,
    });
    const runId = (await orch.trigger('etl')).id;
    const started = orch.start();
    await claimStarted.promise;
    let stopped = false;
    const stopping = orch.stop().then(() => {
      stopped = true;
    });
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
    expect(stopped).toBe(false);
    held.resolve();
    await stopping;
    afterStop = true;
    await started;
    // Both attempts were claimed by the held pass; none was submitted, and both are queued again, unleased.
    const rows = await store.runs.jobRuns(runId);
    expect(rows.map((r) => [r.job, r.status, r.leaseOwner ?? null, r.leaseExpiresAt ?? null])).toEqual([
      ['a', 'queued', null, null],
      ['b', 'queued', null, null],
    ]);
    expect(cluster.history).toEqual([]);
    clock.advance(60 * M);
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
    expect(lateCalls).toEqual([]);
    await store.close();
  });

  it('hands back an attempt it claimed that was still waiting for a pool slot, and leaves the submitted one leased', async () => {
    const clock = new ManualClock(Date.parse('2025-06-02T00:00:00Z'));
    const cluster = inMemoryAdapter({ clock, default: { durationMs: 30 * M } });
    const store = await openStore('sqlite::memory:');
    const orch = createOrchestrator({
      store,
      adapters: { default: cluster },
      pipelines: [
        pipe('etl', [job('a', { pool: 'one' }), job('b', { pool: 'one' })], {
          start: new Date('2025-06-01T00:00:00Z'),
        }),
      ],
      clock,
      owner: 'host-1',
      leaseMs: 10 * M,
      pollMs: M,
      schedule: false,
      concurrency: { global: 4, pools: { one: 1 } },
    });
    const runId = (await orch.trigger('etl')).id;
    await orch.start();
    await orch.idle();
    const before = await store.runs.jobRuns(runId);
    expect(before.map((r) => [r.job, r.status, r.leaseOwner ?? null])).toEqual([
      ['a', 'running', 'host-1'],
      ['b', 'submitting', 'host-1'],
    ]);
    await orch.stop();
    const after = await store.runs.jobRuns(runId);
    expect(after.map((r) => [r.job, r.status, r.leaseOwner ?? null, r.submissionId ?? null])).toEqual([
      ['a', 'running', 'host-1', 'in-memory-1'],
      ['b', 'queued', null, null],
    ]);
    expect(cluster.history.map((h) => h.name)).toEqual(['etl.a']);
    await store.close();
  });
});
